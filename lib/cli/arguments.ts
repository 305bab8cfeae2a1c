/**
 * The `paxos` command line: usage text, options, and what they mean for the protocol. Parsing
 * only; nothing here opens a socket or a file but the config file.
 */
import { parseArgs } from 'node:util';
import { MAX_PROPOSER_ID } from '../protocol/ballot.js';
import type { Group } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import { type PaxosConfig, parseRole } from '../transport/config-file.js';

export const USAGE = `usage: paxos <role> <id> <config> [options]

Runs Paxos role instances as one process that talks UDP: multicast, one group per role, or
unicast, one address per member (for networks without multicast routing, e.g. most clouds).

  <role>    acceptor | proposer | learner | client (plural forms too), or several
            joined by commas (e.g. acceptor,proposer,learner: one replica per host),
            all with the same <id> and sharing one transport
  <id>      every role counts from 1: acceptors and proposers 1..N (N = --acceptors /
            --proposers); learners and clients 1 to ${MAX_PROPOSER_ID + 1}, unique per role
            (with a unicast config: as listed there)
  <config>  multicast: one "<role> <ip> <port>" line per role, e.g.
              clients 239.0.0.1 5000
              proposers 239.0.0.1 6000
              acceptors 239.0.0.1 7000
              learners 239.0.0.1 8000
            (the older one-line-per-member form, optionally "<role> <id> <ip> <port>", works too)
            unicast: one "<role> <id> <ip> <port>" line per member of every role (clients and
            learners too), ids from 1, unicast addresses, e.g.
              acceptor 1 10.0.0.1 7000
              acceptor 2 10.0.0.2 7000
              ...
            a group message then costs one datagram per member of the group

Clients read values from stdin, one per line, submit them all (at most --max-outstanding
undecided at once) and exit 0 once every value is decided (a process that hosts other roles
beside the client keeps running). Learners print only the learned
values, one per line, in the total order, as soon as they are learned. SIGTERM or SIGINT ends
any role at once with exit code 0.

Cluster shape (every process of a cluster must agree):
  --acceptors N          acceptors in the cluster (default: as listed in the config, else 3);
                         a value needs a majority of them
  --proposers N          proposers in the cluster (default: as listed in the config, else 2);
                         the highest live id leads
  --voters LIST          the acceptors that vote at first, e.g. 1,2,3 (default: all); the
                         others are spares until a membership change, which is decided in the
                         log (cluster.reconfigure() from code), so a process that joins later
                         learns the current acceptors as it catches up

Network:
  --secret S             shared secret: sign every datagram (HMAC-SHA256) and drop unsigned or
                         tampered ones (default: env PAXOS_SECRET; without it anyone on the
                         network can inject messages)
  --interface ADDR|NAME  multicast only: local interface (default: chosen by the routing table)
  --ttl N                multicast only: TTL (default 1: the local link)
  --bind ADDR            unicast only: address to bind (default: the member's address in the
                         config; e.g. 0.0.0.0 behind NAT)
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
  --version              the package version

Exit codes: 0 normal end or signal, 1 runtime failure, 2 bad usage or config.`;

export class UsageError extends Error {}

/** CLI defaults that differ from the library's (see --help). */
const CLI_LEADER_TIMEOUT_MS = 1000;
export const CLI_MAX_OUTSTANDING = 4096;
export const CLI_REPEAT_ACKS = 2;

const OPTION_SPEC = {
  acceptors: { type: 'string' },
  proposers: { type: 'string' },
  voters: { type: 'string' },
  secret: { type: 'string' },
  interface: { type: 'string' },
  ttl: { type: 'string' },
  bind: { type: 'string' },
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
  version: { type: 'boolean' },
} as const;

export type OptionValues = Record<string, unknown>;

export function intOption(values: OptionValues, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(text)}"`);
  }
  return Number(text);
}

export interface Invocation {
  /** The roles this process hosts, each once, in the order given. */
  readonly roles: readonly Group[];
  /** The id as typed (every role counts from 1). */
  readonly id: number;
  readonly configPath: string;
  readonly values: OptionValues;
}

export function parseInvocation(argv: string[]): Invocation | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTION_SPEC, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals.length !== 3) throw new UsageError(`expected <role> <id> <config>, got ${positionals.length} argument(s); see --help`);
  const [rolesText, idText, configPath] = positionals as [string, string, string];
  const roles: Group[] = [];
  for (const text of rolesText.split(',')) {
    const role = parseRole(text);
    if (!role) throw new UsageError(`unknown role "${text}" (expected acceptor, proposer, learner or client)`);
    if (roles.includes(role)) throw new UsageError(`role ${text} given twice`);
    roles.push(role);
  }
  if (!/^\d+$/.test(idText)) throw new UsageError(`bad id "${idText}" (a positive integer)`);
  return { roles, id: Number(idText), configPath, values };
}

/** The protocol options the command line and the config file ask for. */
export function protocolOptions(v: OptionValues, config: PaxosConfig): ProtocolOptions {
  const options: ProtocolOptions = {
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
  if (v.voters !== undefined) options.initialAcceptors = voterIds(String(v.voters), options.acceptors);
  for (const k of Object.keys(options) as (keyof ProtocolOptions)[]) if (options[k] === undefined) delete options[k];
  return options;
}

/** `--voters 1,2,3` as acceptor ids (0..n-1). */
function voterIds(text: string, acceptors: number): number[] {
  const ids = text.split(',').map((x) => x.trim());
  for (const id of ids) {
    if (!/^\d+$/.test(id) || Number(id) < 1 || Number(id) > acceptors) throw new UsageError(`--voters: "${id}" is no acceptor id (1 to ${acceptors})`);
  }
  if (new Set(ids.map(Number)).size !== ids.length) throw new UsageError(`--voters lists an acceptor twice: ${text}`);
  return ids.map((id) => Number(id) - 1);
}

/**
 * The protocol's id of a role instance: every role is numbered from 1 on the command line (as
 * the classic scripts do) and from 0 inside.
 */
export function internalId(role: Group, id: number, options: ProtocolOptions): number {
  const name = role.slice(0, -1);
  if (role === 'acceptors' || role === 'proposers') {
    const n = (role === 'acceptors' ? options.acceptors : options.proposers)!;
    if (id < 1 || id > n) throw new UsageError(`${name} id ${id} out of range: ids run from 1 to ${n} (--${role} ${n})`);
    return id - 1;
  }
  if (id < 1) throw new UsageError(`${name} id ${id} out of range: ids count from 1`);
  if (id > MAX_PROPOSER_ID + 1) throw new UsageError(`${name} id ${id} out of range (1 to ${MAX_PROPOSER_ID + 1})`);
  return id - 1;
}
