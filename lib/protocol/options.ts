/**
 * Protocol options shared by every role, with documented defaults and validation. Times are in
 * milliseconds of whatever clock the runtime injects (virtual in the simulator).
 */
import { MAX_PROPOSER_ID } from './ballot.js';

export interface ProtocolOptions {
  /** Number of proposers (ids 0..proposers-1). The highest live id leads. */
  proposers: number;
  /**
   * Number of acceptor slots (ids 0..acceptors-1), at most 31. Which of them vote is the
   * membership of the current epoch (see lib/protocol/membership.ts): `initialAcceptors` at first,
   * then whatever reconfigurations the log decided. A slot outside it is a spare.
   */
  acceptors: number;
  /** The acceptors of epoch 0. Default: every slot. Every role must use the same value. */
  initialAcceptors?: readonly number[];
  /** Acceptors of `initialAcceptors` that must promise in phase 1 (epoch 0). Default: a majority. */
  phase1Quorum?: number;
  /** Acceptors of `initialAcceptors` that must accept in phase 2 (epoch 0). Default: a majority. */
  phase2Quorum?: number;
  /** Instances the leader keeps in flight at once. Default 256. */
  window?: number;
  /** Most client values in one instance. Default 4096. */
  batchMaxValues?: number;
  /**
   * Most bytes of client values (plus a per-value overhead) in one instance, and in one promise,
   * decided or submit message. Default 48 KiB, so that a batch fits one UDP datagram.
   */
  batchMaxBytes?: number;
  /** How often proposers announce themselves. Default 20 ms. */
  heartbeatIntervalMs?: number;
  /** Silence after which a proposer is presumed dead. Default 200 ms. */
  leaderTimeoutMs?: number;
  /** Resend 1a/2a that no quorum answered after this long. Default 100 ms. */
  retransmitMs?: number;
  /** Clients resend undecided submissions after this long. Default 400 ms. */
  clientRetryMs?: number;
  /** A learner that has made no progress for this long while behind asks for catch-up. Default 60 ms. */
  catchupMs?: number;
  /** Most instances asked for in one catch-up request. Default 512. */
  catchupMaxInstances?: number;
  /**
   * Trim after learners 0..N-1: the number of learners whose progress gates log trimming. 0 (the
   * default) keeps every decided instance forever. With N > 0 the leader trims proposers' and
   * acceptors' memory below the point every one of those learners and every live proposer has
   * delivered. (The cluster's shape is not configured here; the Cluster sets this to its number
   * of learners when `trim` is on.)
   */
  trimAfterLearners?: number;
  /**
   * Decided instances kept below the gating point anyway, for catch-ups of restarted members.
   * Memory held is about (1.5 × this) instances of up to `batchMaxBytes` each. Default 64.
   */
  trimKeepInstances?: number;
  /**
   * Learners keep application state snapshots (see lib/protocol/state-transfer.ts). With trimming,
   * the leader then also waits until every gating learner holds a snapshot at or above the trim
   * point, and a learner that finds the log trimmed below where it stands fetches a peer's newest
   * snapshot in chunks and restores it, instead of skipping the trimmed values. Every role must
   * use the same value. Default false.
   */
  stateSnapshots?: boolean;
  /** Bytes of application state per `stateChunk` message. Default 32 KiB, at most 48 KiB (one datagram). */
  stateChunkBytes?: number;
  /**
   * The deduplication window, in instances: a client session that no instance has touched for
   * this many instances is retired, and a value of it that arrives later is refused with
   * `SESSION_EXPIRED` (never delivered twice). Every role must use the same value. Default 1,000,000.
   */
  sessionIdleInstances?: number;
  /**
   * Most client sessions the exactly-once filter tracks; registering one more retires the least
   * recently active. Bounds every learner's memory and every snapshot. Default 4,096.
   */
  maxSessions?: number;
  /**
   * A client with nothing pending that has had no answer for this long opens a fresh session
   * before its next value (one more ordered registration), so that a session retired while the
   * client was idle does not fail that value with `SESSION_EXPIRED`. Default 30,000.
   */
  sessionRenewMs?: number;
}

export type ResolvedOptions = Required<ProtocolOptions>;

export const MAX_ACCEPTORS = 31;

/** Thrown for an option that cannot work; `code` is stable for programs. */
export class ConfigurationError extends Error {
  readonly code = 'ERR_PAXOS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** Every option `ProtocolOptions` knows (checked against the type, both ways). */
export const PROTOCOL_OPTION_NAMES = [
  'proposers', 'acceptors', 'initialAcceptors', 'phase1Quorum', 'phase2Quorum', 'window', 'batchMaxValues', 'batchMaxBytes', 'heartbeatIntervalMs',
  'leaderTimeoutMs', 'retransmitMs', 'clientRetryMs', 'catchupMs', 'catchupMaxInstances', 'trimAfterLearners', 'trimKeepInstances',
  'stateSnapshots', 'stateChunkBytes', 'sessionIdleInstances', 'maxSessions', 'sessionRenewMs',
] as const satisfies readonly (keyof ProtocolOptions)[];
// The other direction: a ProtocolOptions key missing from the list fails to compile here.
type Unlisted = Exclude<keyof ProtocolOptions, (typeof PROTOCOL_OPTION_NAMES)[number]>;
const everyOptionListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyOptionListed;

/** Edit distance (insertions, deletions, substitutions, case ignored), for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * Throws `ConfigurationError` for the first key of `options` not in `known` (a typo would
 * otherwise be ignored silently), naming the closest known option when one is close.
 */
export function rejectUnknownOptions(options: object, known: readonly string[], what = 'option'): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const k of known) {
      const d = distance(key, k);
      if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    const hint = best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean ${best}?` : '';
    throw new ConfigurationError(`unknown ${what} ${JSON.stringify(key)}${hint}`);
  }
}

function positiveInt(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new ConfigurationError(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value as number;
}

function resolveFlag(name: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new ConfigurationError(`${name} must be a boolean, got ${String(value)}`);
  return value === true;
}

function resolveInitialAcceptors(ids: readonly number[] | undefined, slots: number): readonly number[] {
  if (ids === undefined) return Array.from({ length: slots }, (_, i) => i);
  if (!Array.isArray(ids) || ids.length === 0) throw new ConfigurationError('initialAcceptors must list at least one acceptor');
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= slots || seen.has(id)) {
      throw new ConfigurationError(`initialAcceptors must list distinct acceptor ids from 0 to ${slots - 1}, got ${String(id)}`);
    }
    seen.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export function resolveOptions(options: ProtocolOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('options must be an object');
  rejectUnknownOptions(options, PROTOCOL_OPTION_NAMES, 'protocol option');
  const acceptors = positiveInt('acceptors', options.acceptors, MAX_ACCEPTORS);
  const proposers = positiveInt('proposers', options.proposers, MAX_PROPOSER_ID);
  const initialAcceptors = resolveInitialAcceptors(options.initialAcceptors, acceptors);
  const voters = initialAcceptors.length;
  const majority = Math.floor(voters / 2) + 1;
  const phase1Quorum = positiveInt('phase1Quorum', options.phase1Quorum ?? majority, voters);
  const phase2Quorum = positiveInt('phase2Quorum', options.phase2Quorum ?? majority, voters);
  if (phase1Quorum + phase2Quorum <= voters) {
    throw new ConfigurationError(
      `phase1Quorum (${phase1Quorum}) + phase2Quorum (${phase2Quorum}) must exceed the acceptors that vote (${voters}), ` +
        'or two quorums could miss each other and decide different values');
  }
  const resolved: ResolvedOptions = {
    acceptors,
    initialAcceptors,
    proposers,
    phase1Quorum,
    phase2Quorum,
    window: positiveInt('window', options.window ?? 256, 1 << 20),
    batchMaxValues: positiveInt('batchMaxValues', options.batchMaxValues ?? 4096),
    batchMaxBytes: positiveInt('batchMaxBytes', options.batchMaxBytes ?? 48 * 1024),
    heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 20),
    leaderTimeoutMs: positiveInt('leaderTimeoutMs', options.leaderTimeoutMs ?? 200),
    retransmitMs: positiveInt('retransmitMs', options.retransmitMs ?? 100),
    clientRetryMs: positiveInt('clientRetryMs', options.clientRetryMs ?? 400),
    catchupMs: positiveInt('catchupMs', options.catchupMs ?? 60),
    catchupMaxInstances: positiveInt('catchupMaxInstances', options.catchupMaxInstances ?? 512),
    trimAfterLearners: options.trimAfterLearners === undefined || options.trimAfterLearners === 0 ? 0 : positiveInt('trimAfterLearners', options.trimAfterLearners),
    trimKeepInstances: positiveInt('trimKeepInstances', options.trimKeepInstances ?? 64),
    stateSnapshots: resolveFlag('stateSnapshots', options.stateSnapshots),
    stateChunkBytes: positiveInt('stateChunkBytes', options.stateChunkBytes ?? 32 * 1024, 48 * 1024),
    sessionIdleInstances: positiveInt('sessionIdleInstances', options.sessionIdleInstances ?? 1_000_000),
    maxSessions: positiveInt('maxSessions', options.maxSessions ?? 4096, 1 << 20),
    sessionRenewMs: positiveInt('sessionRenewMs', options.sessionRenewMs ?? 30_000),
  };
  if (resolved.leaderTimeoutMs <= resolved.heartbeatIntervalMs * 2) {
    throw new ConfigurationError(
      `leaderTimeoutMs (${resolved.leaderTimeoutMs}) must exceed twice heartbeatIntervalMs ` +
        `(${resolved.heartbeatIntervalMs}), or a live leader looks dead after one lost heartbeat`);
  }
  return resolved;
}
