/**
 * `paxos <role> <id> <config>`: one Paxos role instance as one process, talking UDP multicast.
 * See `paxos --help` and docs/network.md.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { onShutdownSignal } from './signals.js';
import { performance } from 'node:perf_hooks';
import { Acceptor } from '../protocol/acceptor.js';
import { INCARNATION_SPACE, MAX_PROPOSER_ID } from '../protocol/ballot.js';
import { Client, ValueTooLargeError } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import { type Group, SESSION_EXPIRED } from '../protocol/messages.js';
import type { ProtocolNode } from '../protocol/node.js';
import { ConfigurationError, type ProtocolOptions, resolveOptions } from '../protocol/options.js';
import { Proposer } from '../protocol/proposer.js';
import { NodeRunner } from '../runtime/node-runner.js';
import { ConfigFileError, parseRole, readConfigFile } from './config-file.js';
import { checkBatchFits, createUdpMulticastTransport, resolveInterface } from '../transport/udp-multicast.js';
import { type DurableAcceptor, openDurableAcceptor } from '../runtime/durable-acceptor.js';
import { SYNC_POLICIES, type SyncPolicy } from '../storage/types.js';

const USAGE = `usage: paxos <role> <id> <config> [options]

Runs one Paxos role instance as a process that talks UDP multicast, one group per role.

  <role>    acceptor | proposer | learner | client (plural forms too)
  <id>      acceptors and proposers: 1..N (N = --acceptors / --proposers);
            learners and clients: any integer from 0 to ${MAX_PROPOSER_ID}, unique per role
  <config>  file with one "<role> <ip> <port>" line per role, e.g.
              clients 239.0.0.1 5000
              proposers 239.0.0.1 6000
              acceptors 239.0.0.1 7000
              learners 239.0.0.1 8000
            (the older one-line-per-member form, optionally "<role> <id> <ip> <port>", works too)

Clients read values from stdin, one per line, submit them all (at most --max-outstanding
undecided at once) and exit 0 once every value is decided. Learners print only the learned
values, one per line, in the total order, as soon as they are learned. SIGTERM or SIGINT ends
any role at once with exit code 0.

Cluster shape (every process of a cluster must agree):
  --acceptors N          acceptors in the cluster (default: as listed in the config, else 3);
                         a value needs a majority of them
  --proposers N          proposers in the cluster (default: as listed in the config, else 2);
                         the highest live id leads

Network:
  --secret S             shared secret: sign every datagram (HMAC-SHA256) and drop unsigned or
                         tampered ones (default: env PAXOS_SECRET; without it anyone on the
                         network can inject messages)
  --interface ADDR|NAME  local interface for multicast (default: chosen by the routing table)
  --ttl N                multicast TTL (default 1: the local link)
  --recv-buffer BYTES    socket receive buffer (default 8 MiB, capped by net.core.rmem_max)
  --coalesce-bytes B     pack messages into one datagram up to B bytes (default 16384; a
                         single larger message still travels alone, up to 65507)
  --repeat-acks N        send every datagram to the clients group N times (default 2:
                         a lost acknowledgement costs a client --client-retry-ms)

Timing and batching (defaults from the protocol core unless said):
  --tick-ms MS           clock tick (default 5)
  --heartbeat-ms MS      proposer heartbeat interval (default 20)
  --leader-timeout-ms MS silence before a leader is presumed dead (default 1000 here,
                         longer than the library's 200: processes on a busy host stall)
  --retransmit-ms MS     resend unanswered phase 1/2 messages (default 100)
  --client-retry-ms MS   clients resend undecided values (default 400)
  --catchup-ms MS        learners ask for missing values after this long (default 60)
  --window N             instances in flight at once (default 256)
  --batch-max-bytes B    bytes of values per instance (default 49152)
  --max-outstanding N    clients: undecided values at once (default 4096)

Acceptor storage:
  --data-dir DIR         acceptors: keep promises and accepted values in DIR (created if
                         missing), written before answering and recovered at start, so the
                         acceptor may be killed (even SIGKILL) and restarted safely. Without it
                         an acceptor lives in memory: never restart one under the same id.
  --sync always|batch|none  with --data-dir: fsync per answer, group commit (default), or no
                         fsync (survives a process crash, not a machine crash)

  --debug                log to stderr (start-up, drops, counters every second)
  --help                 this text

Exit codes: 0 normal end or signal, 1 runtime failure, 2 bad usage or config.`;

class UsageError extends Error {}

/** CLI defaults that differ from the library's (see --help). */
const CLI_LEADER_TIMEOUT_MS = 1000;
const CLI_MAX_OUTSTANDING = 4096;
const CLI_REPEAT_ACKS = 2;

const OPTION_SPEC = {
  acceptors: { type: 'string' },
  proposers: { type: 'string' },
  secret: { type: 'string' },
  interface: { type: 'string' },
  ttl: { type: 'string' },
  'recv-buffer': { type: 'string' },
  'tick-ms': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'leader-timeout-ms': { type: 'string' },
  'retransmit-ms': { type: 'string' },
  'client-retry-ms': { type: 'string' },
  'catchup-ms': { type: 'string' },
  window: { type: 'string' },
  'batch-max-bytes': { type: 'string' },
  'max-outstanding': { type: 'string' },
  'coalesce-bytes': { type: 'string' },
  'repeat-acks': { type: 'string' },
  'data-dir': { type: 'string' },
  sync: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function intOption(values: Record<string, unknown>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(text)}"`);
  }
  return Number(text);
}

function stderr(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr gone: nothing to tell anyone
  }
}

/** Write all of `data` to stdout synchronously, riding out EAGAIN on a non-blocking pipe. */
function writeStdout(data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(1, data, offset, data.length - offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(0);
      throw err;
    }
  }
}

interface Invocation {
  role: Group;
  id: number;
  configPath: string;
  values: Record<string, unknown>;
}

function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTION_SPEC, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 3) throw new UsageError(`expected <role> <id> <config>, got ${positionals.length} argument(s); see --help`);
  const [roleText, idText, configPath] = positionals as [string, string, string];
  const role = parseRole(roleText);
  if (!role) throw new UsageError(`unknown role "${roleText}" (expected acceptor, proposer, learner or client)`);
  if (!/^\d+$/.test(idText)) throw new UsageError(`bad id "${idText}" (a non-negative integer)`);
  return { role, id: Number(idText), configPath, values };
}

async function main(argv: string[]): Promise<void> {
  let invocation: Invocation | 'help';
  let options: ProtocolOptions;
  let internalId: number;
  let config;
  try {
    invocation = parseInvocation(argv);
    if (invocation === 'help') {
      writeStdout(Buffer.from(USAGE + '\n'));
      process.exit(0);
    }
    config = readConfigFile(invocation.configPath);
    const v = invocation.values;
    options = {
      acceptors: intOption(v, 'acceptors', 1, 31) ?? config.members.acceptors ?? 3,
      proposers: intOption(v, 'proposers', 1, MAX_PROPOSER_ID) ?? config.members.proposers ?? 2,
      window: intOption(v, 'window', 1),
      batchMaxBytes: intOption(v, 'batch-max-bytes', 64),
      heartbeatIntervalMs: intOption(v, 'heartbeat-ms', 1),
      // Separate processes are scheduled independently and a busy leader's heartbeats can sit
      // behind data in a socket buffer: a longer timeout than the library default avoids needless
      // elections (measured: 200 ms caused leadership flapping on a loaded machine).
      leaderTimeoutMs: intOption(v, 'leader-timeout-ms', 1) ?? CLI_LEADER_TIMEOUT_MS,
      retransmitMs: intOption(v, 'retransmit-ms', 1),
      clientRetryMs: intOption(v, 'client-retry-ms', 1),
      catchupMs: intOption(v, 'catchup-ms', 1),
    };
    for (const k of Object.keys(options) as (keyof ProtocolOptions)[]) if (options[k] === undefined) delete options[k];
    const { role, id } = invocation;
    if (role === 'acceptors' || role === 'proposers') {
      const n = role === 'acceptors' ? options.acceptors : options.proposers;
      if (id < 1 || id > n) throw new UsageError(`${role.slice(0, -1)} id ${id} out of range: ids run from 1 to ${n} (--${role} ${n})`);
      internalId = id - 1;
    } else {
      if (id > MAX_PROPOSER_ID) throw new UsageError(`${role.slice(0, -1)} id ${id} out of range (0 to ${MAX_PROPOSER_ID})`);
      internalId = id;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigFileError || err instanceof ConfigurationError) {
      stderr(`paxos: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  await run(invocation, options, internalId, config);
}

async function run(inv: Invocation, protocolOptions: ProtocolOptions, id: number, config: ReturnType<typeof readConfigFile>): Promise<void> {
  const v = inv.values;
  const debug = v.debug === true;
  const tag = `[${inv.role.slice(0, -1)} ${inv.id}]`;
  const log = debug ? (line: string) => stderr(`${tag} ${line}`) : undefined;
  let resolved;
  let transport;
  let tickMs: number;
  let maxOutstanding: number;
  try {
    resolved = resolveOptions(protocolOptions);
    checkBatchFits(resolved);
    tickMs = intOption(v, 'tick-ms', 1, 10_000) ?? 5;
    maxOutstanding = intOption(v, 'max-outstanding', 1) ?? CLI_MAX_OUTSTANDING;
    resolveInterface(v.interface as string | undefined); // an unknown interface is a usage error
    if (v.sync !== undefined && !SYNC_POLICIES.includes(v.sync as SyncPolicy)) {
      throw new UsageError(`--sync must be one of ${SYNC_POLICIES.join(', ')}, got "${String(v.sync)}"`);
    }
    if ((v['data-dir'] !== undefined || v.sync !== undefined) && inv.role !== 'acceptors') {
      throw new UsageError('--data-dir and --sync are for acceptors');
    }
    if (v.sync !== undefined && v['data-dir'] === undefined) throw new UsageError('--sync needs --data-dir');
    const secret = (v.secret as string | undefined) ?? (process.env.PAXOS_SECRET || undefined);
    if (secret === '') throw new UsageError('the shared secret must not be empty');
    transport = createUdpMulticastTransport({
      groups: config.groups,
      secret: secret || undefined,
      interface: v.interface as string | undefined,
      ttl: intOption(v, 'ttl', 0, 255),
      recvBufferSize: intOption(v, 'recv-buffer', 1024),
      coalesceBytes: intOption(v, 'coalesce-bytes', 64, 65_507),
      repeat: { clients: intOption(v, 'repeat-acks', 1, 8) ?? CLI_REPEAT_ACKS },
    }, { log, warn: (line) => stderr(`${tag} ${line}`) });
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigurationError) {
      stderr(`paxos: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  let node: ProtocolNode;
  let durable: DurableAcceptor | undefined;
  let afterStep: (() => void) | undefined;
  let onStdin: ((runner: NodeRunner) => void) | undefined;
  let finalFlush: () => void = () => {};
  switch (inv.role) {
    case 'acceptors':
      if (v['data-dir'] !== undefined) {
        try {
          durable = await openDurableAcceptor(id, resolved, v['data-dir'] as string, (v.sync as SyncPolicy | undefined) ?? 'batch');
        } catch (err) {
          // A corrupt log or a directory held by a live acceptor: never start on it.
          stderr(`paxos: acceptor ${inv.id}: ${(err as Error).message}`);
          process.exit(1);
        }
        node = durable.acceptor;
        log?.(`recovered ${durable.store.recovered.accepted.length} accepted instances from ${v['data-dir'] as string}`);
      } else {
        node = new Acceptor(id, resolved);
      }
      break;
    case 'proposers':
      node = new Proposer(id, resolved, { incarnation: randomInt(0, INCARNATION_SPACE), random: Math.random });
      break;
    case 'learners': {
      const learner = new Learner(id, resolved);
      node = learner;
      const drain = (): void => {
        const deliveries = learner.takeDeliveries();
        if (deliveries.length === 0) return;
        const parts: (string | Uint8Array)[] = [];
        let text = '';
        for (const d of deliveries) {
          if (typeof d.value === 'string') text += d.value + '\n';
          else {
            if (text) parts.push(text);
            parts.push(d.value, '\n');
            text = '';
          }
        }
        if (text) parts.push(text);
        writeStdout(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
      };
      afterStep = drain;
      finalFlush = drain;
      break;
    }
    case 'clients': {
      const client = new Client(id, resolved, { nonce: () => randomBytes(16).toString('hex') });
      node = client;
      const state = { lines: [] as string[], head: 0, carry: '', ended: false, paused: false, rejected: 0, completed: 0, done: false };
      let runnerRef: NodeRunner | undefined;
      const finishIfDone = (): void => {
        if (state.done || !state.ended || state.head < state.lines.length || client.pendingCount > 0) return;
        state.done = true;
        const cpu = process.cpuUsage();
        log?.(`all ${state.completed} values decided${state.rejected ? `, ${state.rejected} rejected as too large` : ''}; exiting; ` +
          `cpu user ${Math.round(cpu.user / 1000)} ms system ${Math.round(cpu.system / 1000)} ms; node ${JSON.stringify(node.metrics)}`);
        setImmediate(() => process.exit(state.rejected ? 1 : 0));
      };
      const feed = (): void => {
        if (!runnerRef) return;
        if (state.head < state.lines.length && client.pendingCount < maxOutstanding) {
          runnerRef.act((_n, now) => {
            while (state.head < state.lines.length && client.pendingCount < maxOutstanding) {
              let value = state.lines[state.head++]!;
              if (value.endsWith('\r')) value = value.slice(0, -1);
              try {
                client.submit(value, now);
              } catch (err) {
                if (!(err instanceof ValueTooLargeError)) throw err;
                state.rejected++;
                stderr(`${tag} line skipped: ${err.message}`);
              }
            }
          });
        }
        if (state.head >= state.lines.length) {
          state.lines = [];
          state.head = 0;
          if (state.paused && !state.ended) {
            state.paused = false;
            process.stdin.resume();
          }
        }
        finishIfDone();
      };
      afterStep = () => {
        const done = client.takeCompletions();
        if (done.length) {
          state.completed += done.length;
          const expired = done.filter((c) => c.position === SESSION_EXPIRED).length;
          if (expired) stderr(`${tag} ${expired} value(s) ended with their session expired: each delivered at most once, maybe not at all`);
          if (state.head < state.lines.length && client.pendingCount < maxOutstanding) setImmediate(feed);
          else finishIfDone();
        }
      };
      onStdin = (runner) => {
        runnerRef = runner;
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', (chunk: string) => {
          const parts = (state.carry + chunk).split('\n');
          state.carry = parts.pop()!;
          if (parts.length) {
            if (state.head === 0 && state.lines.length === 0) state.lines = parts;
            else for (const p of parts) state.lines.push(p);
          }
          feed();
          if (state.head < state.lines.length && !state.paused) {
            state.paused = true;
            process.stdin.pause();
          }
        });
        process.stdin.on('end', () => {
          if (state.carry) state.lines.push(state.carry);
          state.carry = '';
          state.ended = true;
          log?.(`end of input: ${state.lines.length - state.head + client.metrics.submitted} lines read, ` +
            `${Math.round(performance.now())} ms after process start`);
          feed();
        });
        process.stdin.on('error', (err) => {
          stderr(`${tag} stdin: ${err.message}`);
          state.ended = true;
          feed();
        });
      };
      break;
    }
  }

  const runner = new NodeRunner(node, transport, {
    tickMs,
    afterStep,
    ...(durable ? {
      persist: durable.persist,
      onPersistError: (err: unknown) => {
        stderr(`${tag} storage failed, stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    } : {}),
  });
  const shutdown = (signal: string): void => {
    try {
      // A durable acceptor needs nothing here: what it answered is on disk, answers not yet sent
      // were never promised, and its lock file names a pid that is about to be gone (stale).
      finalFlush();
    } finally {
      const cpu = process.cpuUsage();
      log?.(`${signal}: exiting; cpu user ${Math.round(cpu.user / 1000)} ms system ${Math.round(cpu.system / 1000)} ms; ` +
        `node ${JSON.stringify(node.metrics)}; transport ${JSON.stringify(transport.metrics)}`);
      process.exit(0);
    }
  };
  onShutdownSignal(shutdown);
  try {
    await runner.start();
  } catch (err) {
    stderr(`paxos: cannot start ${inv.role.slice(0, -1)} ${inv.id}: ${(err as Error).message}`);
    process.exit(1);
  }
  log?.(`started: acceptors ${resolved.acceptors} (quorum ${resolved.phase2Quorum}), proposers ${resolved.proposers}, ` +
    `window ${resolved.window}, batch ${resolved.batchMaxBytes} bytes${transport.settings.secret ? ', HMAC on' : ', no secret'}`);
  if (debug) {
    setInterval(() => log?.(`node ${JSON.stringify(node.metrics)} transport ${JSON.stringify(transport.metrics)}`), 1000).unref();
  }
  onStdin?.(runner);
}

/** Runs the CLI; any unexpected error is one line on stderr and exit code 1. */
export function runCli(argv: string[]): void {
  main(argv).catch((err: unknown) => {
    stderr(`paxos: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  });
}
