/**
 * `paxos <role>[,<role>...] <id> <config>`: Paxos role instances as one process, hosted by one
 * `RoleHost` over one UDP transport (multicast or unicast, as the config file says). See
 * `paxos --help` and docs/network.md.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { onShutdownSignal } from './signals.js';
import type { Client } from '../protocol/client.js';
import type { Group } from '../protocol/messages.js';
import { ConfigurationError, type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import type { Ready, Role } from '../protocol/role.js';
import { RoleHost } from '../runtime/role-host.js';
import { type BuiltRole, buildRole } from '../runtime/role-factory.js';
import { SYNC_POLICIES, type SyncPolicy } from '../storage/types.js';
import { checkBatchFits } from '../transport/datagram-settings.js';
import {
  CLI_MAX_OUTSTANDING, type Invocation, USAGE, UsageError, intOption, internalId, parseInvocation, protocolOptions,
} from './arguments.js';
import { type CliTransport, cliTransport } from './cli-transport.js';
import { ConfigFileError, type PaxosConfig, readConfigFile } from '../transport/config-file.js';
import { printDeliveries, stderr, writeStdout } from './output.js';
import { StdinClient } from './stdin-client.js';

/** The version in the package's package.json (three levels above dist/lib/cli/). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}

/** Bad usage or configuration: one line on stderr, exit code 2. */
function usageFailure(err: unknown): never {
  if (err instanceof UsageError || err instanceof ConfigFileError || err instanceof ConfigurationError) {
    stderr(`paxos: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

interface Setup {
  readonly inv: Invocation;
  readonly options: ResolvedOptions;
  readonly transport: CliTransport;
  readonly tickMs: number;
  readonly maxOutstanding: number;
  readonly tag: string;
  readonly log?: (line: string) => void;
}

/** Everything the command line decides, checked before anything starts. */
function configure(argv: string[]): Setup {
  const inv = parseInvocation(argv);
  if (inv === 'help' || inv === 'version') {
    writeStdout(Buffer.from((inv === 'help' ? USAGE : packageVersion()) + '\n'));
    process.exit(0);
  }
  const config: PaxosConfig = readConfigFile(inv.configPath);
  const v = inv.values;
  const requested: ProtocolOptions = protocolOptions(v, config);
  const options = resolveOptions(requested);
  for (const role of inv.roles) internalId(role, inv.id, requested); // ids in range for every role
  checkBatchFits(options);
  const tag = `[${inv.roles.map((r) => r.slice(0, -1)).join(',')} ${inv.id}]`;
  const log = v.debug === true ? (line: string) => stderr(`${tag} ${line}`) : undefined;
  if (v.sync !== undefined && !SYNC_POLICIES.includes(v.sync as SyncPolicy)) {
    throw new UsageError(`--sync must be one of ${SYNC_POLICIES.join(', ')}, got "${String(v.sync)}"`);
  }
  if ((v['data-dir'] !== undefined || v.sync !== undefined) && !inv.roles.includes('acceptors')) {
    throw new UsageError('--data-dir and --sync are for acceptors');
  }
  if (v.sync !== undefined && v['data-dir'] === undefined) throw new UsageError('--sync needs --data-dir');
  const transport = cliTransport(config, inv, requested, { log, warn: (line) => stderr(`${tag} ${line}`) });
  return {
    inv, options, transport, tag, log,
    tickMs: intOption(v, 'tick-ms', 1, 10_000) ?? 5,
    maxOutstanding: intOption(v, 'max-outstanding', 1) ?? CLI_MAX_OUTSTANDING,
  };
}

async function main(argv: string[]): Promise<void> {
  let setup: Setup;
  try {
    setup = configure(argv);
  } catch (err) {
    usageFailure(err);
  }
  await run(setup);
}

/**
 * The role instance a command line names, built as a cluster worker builds it. A corrupt log or a
 * directory held by a live acceptor: exit 1. A durable acceptor's storage failure ends the process
 * (exit 1): the disk no longer backs its answers, so it must never answer again.
 */
async function buildMember(s: Setup, group: Group, id: number): Promise<BuiltRole> {
  const v = s.inv.values;
  const dir = group === 'acceptors' ? v['data-dir'] as string | undefined : undefined;
  try {
    const built = await buildRole({ group, id, durable: dir === undefined ? undefined : { dir, sync: (v.sync as SyncPolicy | undefined) ?? 'batch' } }, s.options, (err) => {
      stderr(`${s.tag} storage failed, stopping: ${err.message}`);
      process.exit(1);
    });
    if (built.durable) s.log?.(`recovered ${built.durable.store.recovered.accepted.length} accepted instances from ${dir!}`);
    return built;
  } catch (err) {
    stderr(`paxos: ${group.slice(0, -1)} ${s.inv.id}: ${(err as Error).message}`);
    process.exit(1);
  }
}

async function run(s: Setup): Promise<void> {
  const { inv, options, transport, tag, log } = s;
  let stdinClient: StdinClient | undefined;
  const hosted: BuiltRole[] = [];
  for (const group of inv.roles) hosted.push(await buildMember(s, group, internalId(group, inv.id, { acceptors: options.acceptors, proposers: options.proposers })));
  const client = hosted.find((h) => h.role.group === 'clients')?.role as Client | undefined;
  const onReady = (_role: Role, ready: Ready): void => {
    printDeliveries(ready.deliveries);
    stdinClient?.complete(ready.completions);
  };
  const host = new RoleHost(hosted, transport, { now: () => performance.now(), tickMs: s.tickMs, onReady });
  const counters = (): string => hosted.map((h) => `${h.role.group} ${JSON.stringify(h.role.metrics)}`).join('; ');
  if (client) {
    // A process that only runs a client ends with its input; one that hosts more keeps serving.
    const alone = hosted.length === 1;
    stdinClient = new StdinClient(client, host, {
      maxOutstanding: s.maxOutstanding, tag, log,
      done: (completed, rejected) => {
        const cpu = process.cpuUsage();
        log?.(`all ${completed} values decided${rejected ? `, ${rejected} rejected as too large` : ''}; ` +
          `cpu user ${Math.round(cpu.user / 1000)} ms system ${Math.round(cpu.system / 1000)} ms; ${counters()}`);
        if (alone) setImmediate(() => process.exit(rejected ? 1 : 0));
      },
    });
  }
  onShutdownSignal((signal) => {
    try {
      // What the learners delivered so far goes out; a durable acceptor needs nothing here: what
      // it answered is on disk, answers not yet sent were never promised, and its lock file names
      // a pid that is about to be gone (stale).
      host.flush();
    } finally {
      const cpu = process.cpuUsage();
      log?.(`${signal}: exiting; cpu user ${Math.round(cpu.user / 1000)} ms system ${Math.round(cpu.system / 1000)} ms; ` +
        `${counters()}; transport ${JSON.stringify(transport.metrics)}`);
      process.exit(0);
    }
  });
  try {
    await host.start();
  } catch (err) {
    stderr(`paxos: cannot start ${tag}: ${(err as Error).message}`);
    process.exit(1);
  }
  log?.(`started: acceptors ${options.acceptors} (quorum ${options.phase2Quorum}), proposers ${options.proposers}, ` +
    `window ${options.window}, batch ${options.batchMaxBytes} bytes${transport.settings.secret ? ', HMAC on' : ', no secret'}`);
  if (log) setInterval(() => log(`${counters()}; transport ${JSON.stringify(transport.metrics)}`), 1000).unref();
  stdinClient?.start();
}

/** Runs the CLI; any unexpected error is one line on stderr and exit code 1. */
export function runCli(argv: string[]): void {
  main(argv).catch((err: unknown) => {
    stderr(`paxos: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  });
}
