/**
 * The options of `Cluster.start`, and their validation: every option is checked (and defaults
 * filled in) before any worker starts, so invalid options reject with `ConfigurationError` and
 * nothing to clean up.
 */
import { randomUUID } from 'node:crypto';
import { debuglog } from 'node:util';
import { resolve as resolvePath } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { GROUPS, type Group } from '../protocol/messages.js';
import {
  ConfigurationError, PROTOCOL_OPTION_NAMES, type ProtocolOptions, type ResolvedOptions, rejectUnknownOptions, resolveOptions,
} from '../protocol/options.js';
import type { BusTopology, FaultSettings } from '../transport/bus.js';
import { resolveFaults } from '../transport/bus-faults.js';
import { SYNC_POLICIES, type SyncPolicy } from '../storage/index.js';
import { type TransportSpec, validateTransportSpec } from '../runtime/worker-transport.js';
import { type ValueCodec, defaultCodec } from './codec.js';

/** A role, by its group name (`'acceptors'`) or singular (`'acceptor'`). */
export type RoleName = Group | 'client' | 'proposer' | 'acceptor' | 'learner';

const ROLE_GROUPS: Readonly<Record<RoleName, Group>> = {
  clients: 'clients', client: 'clients', proposers: 'proposers', proposer: 'proposers',
  acceptors: 'acceptors', acceptor: 'acceptors', learners: 'learners', learner: 'learners',
};

/** Bus faults as `Cluster.faults()` takes them: partition members may use either role spelling. */
export interface ClusterFaults extends Omit<FaultSettings, 'partition'> {
  /** One side of a partition, e.g. `[{ group: 'proposer', id: 1 }, { group: 'acceptor', id: 0 }]`. */
  partition?: readonly { readonly group: RoleName; readonly id: number }[];
}

/** Options of `Cluster.start`. Protocol options (window, batch limits, timeouts) sit at the top level. */
export interface ClusterOptions<T = unknown> extends Partial<Omit<ProtocolOptions, 'proposers' | 'acceptors' | 'trimAfterLearners'>> {
  /** Proposers (the highest live id leads). Default 2. */
  proposers?: number;
  /** Acceptors, at most 31. Default 3. */
  acceptors?: number;
  /** Learners, at least 1. Default 1. */
  learners?: number;
  /**
   * Let the leader trim proposers' and acceptors' memory below the point every learner delivered
   * (keeping `trimKeepInstances` more). A learner that restarts after a trim continues from the
   * trim point, so its `learned()` stream then starts after a gap instead of at position 0.
   * Default false: everything is kept and every learner can replay from the first value.
   */
  trim?: boolean;
  /**
   * With `trim`, how many of its newest delivered values a learner worker keeps for `learned()`
   * replays (plus whatever an open iterator still has to read). Older ones are let go, and
   * `learned({ from })` below them ends with `TrimmedError`. Default 65536. Ignored without `trim`.
   */
  replayKeepValues?: number;
  /**
   * Durable acceptors: acceptor i keeps its state in `<dataDir>/acceptor-<i>` (created if
   * missing), persisted before it answers, and recovers it on restart — so an acceptor may crash
   * any way (`kill` terminates it abruptly) and restart safely, even in a new process. Without it,
   * acceptors live in memory and `kill` hands their state over instead (see `kill`).
   */
  dataDir?: string;
  /** With `dataDir`: `batch` (group commit, default), `always` (fsync per turn), or `none` (unsafe across machine crashes). */
  sync?: SyncPolicy;
  /** Client workers, at least 1; `submit` uses client 0. Default 1. */
  clients?: number;
  /** Clock tick of every worker in ms. Default 5. */
  tickMs?: number;
  /** Most submissions one client has in flight; more wait in a queue (backpressure). Default 1024. */
  maxOutstanding?: number;
  /** Application values ⇄ payloads. Default `defaultCodec` (strings, bytes, JSON for the rest). */
  codec?: ValueCodec<T>;
  /** The transport every worker builds. Default: the in-process bus. */
  transport?: TransportSpec;
  /** Bus faults from the start. Default none. */
  faults?: ClusterFaults;
  /**
   * Debug log: `true` prints to stderr, a function receives each line. The environment variable
   * `PAXOS_DEBUG=1` turns it on too. Default off.
   */
  debug?: boolean | ((line: string) => void);
  /**
   * Where diagnostics go, by level: `console` and pino loggers fit (each method is called with
   * one string). `debug` receives what the debug log says (worker starts, leadership, kills,
   * restarts, faults, exits); `warn` receives background errors that no `error` listener took
   * (instead of a process warning). Takes precedence over `debug`. Default: none, unless `debug`,
   * `PAXOS_DEBUG=1` or `NODE_DEBUG=paxos` asks for the debug log on stderr.
   */
  logger?: Logger;
  /** How long a worker may take to start, in ms. Default 15000. */
  startTimeoutMs?: number;
  /**
   * How role instances are placed on worker threads. `role` (default): one worker per instance.
   * `replica`: worker i hosts proposer i, acceptor i, learner i and client i (those that exist)
   * with one `RoleHost` and one bus endpoint, as one process per host would; fewer threads, and
   * `kill`/`restart` of any member takes its whole replica down and up (events for each member).
   */
  workers?: WorkerPlacement;
  /** `Cluster.start` only: abort the start (workers started so far stop; it rejects with the reason). */
  signal?: AbortSignal;
  /**
   * Let the process exit while the cluster runs, as `timer.unref()` does: its workers and ports
   * never keep the event loop alive. Without it (the default) a cluster that is never stopped
   * keeps the process running; call `stop()` or use `await using`. Default false.
   */
  unref?: boolean;
  /**
   * V8 heap limits of every worker thread, as `new Worker(..., { resourceLimits })` takes them.
   * Each role runs in its own isolate, and each isolate sizes its heap for its allocation rate, so
   * at peak load most of the RSS is GC headroom, not live data. `{ maxYoungGenerationSizeMb: 4 }`
   * cut the soak's RSS by about a quarter (830 → 625 MiB) for 7–18 % of its throughput (docs/benchmarks.md).
   * A worker that reaches `maxOldGenerationSizeMb` exits (`WorkerExitedError`). Default V8's own.
   */
  workerResourceLimits?: ResourceLimits;
  /**
   * Which role instances this process runs, by id, e.g. one replica per host:
   * `{ acceptors: [1], proposers: [1], learners: [1], clients: [1] }`. `proposers`, `acceptors`,
   * `learners` and `clients` then describe the whole deployment (every process must agree on
   * them), and `submit`, `learned()`, events, `status()`, `metrics()`, `kill`/`restart` and
   * `dataDir` concern the hosted members only. The other members run in other processes, reached
   * through `transport` (UDP multicast or unicast, from `paxos-cluster/udp`). Default: every
   * member, the in-process cluster.
   */
  host?: HostedMembers;
  /**
   * Names the deployment on the in-process bus: `Cluster` objects of one process with the same
   * `id` and disjoint `host` sets form one cluster (how the per-host API is tested without a
   * network). Default: a random UUID. Other transports ignore it.
   */
  id?: string;
}

/** Member ids by group, as `host` takes them; a group left out has none here. */
export interface HostedMembers {
  readonly proposers?: readonly number[];
  readonly acceptors?: readonly number[];
  readonly learners?: readonly number[];
  readonly clients?: readonly number[];
}

export type WorkerPlacement = 'role' | 'replica';

/** The levels of a logger the cluster writes to (a subset of `console`'s and pino's). */
export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}

/** The options of the cluster itself; the protocol's come on top (`trimAfterLearners` is set from `trim`). */
const CLUSTER_OPTION_NAMES = [
  'proposers', 'acceptors', 'learners', 'clients', 'trim', 'replayKeepValues', 'dataDir', 'sync', 'tickMs', 'maxOutstanding', 'codec',
  'transport', 'faults', 'debug', 'logger', 'startTimeoutMs', 'workers', 'signal', 'unref', 'host', 'id', 'workerResourceLimits',
] as const satisfies readonly (keyof ClusterOptions)[];
const KNOWN_OPTIONS: readonly string[] = [...CLUSTER_OPTION_NAMES, ...PROTOCOL_OPTION_NAMES.filter((n) => n !== 'trimAfterLearners')];

/** @internal `ClusterOptions` checked, with every default filled in. */
export interface ResolvedClusterOptions<T> {
  readonly protocol: ResolvedOptions;
  readonly topology: BusTopology;
  readonly tickMs: number;
  readonly maxOutstanding: number;
  readonly codec: ValueCodec<T>;
  readonly transport: TransportSpec | undefined;
  readonly faults: FaultSettings | undefined;
  readonly log: ((line: string) => void) | undefined;
  /** Background errors nobody listens for; undefined: a process warning. */
  readonly warn: ((line: string) => void) | undefined;
  readonly startTimeoutMs: number;
  readonly replayKeepValues: number;
  readonly durable: { readonly dataDir: string; readonly sync: SyncPolicy } | undefined;
  readonly workers: WorkerPlacement;
  readonly unref: boolean;
  readonly workerResourceLimits: ResourceLimits | undefined;
  /** The members this process runs, by group, ascending (every member without `host`). */
  readonly hosted: Readonly<Record<Group, readonly number[]>>;
  /** False with `host`: members of the deployment run elsewhere. */
  readonly hostsEverything: boolean;
  /** Names the deployment on the bus. */
  readonly clusterId: string;
}

function count(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new ConfigurationError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return v as number;
}

/** Normalize a role name; throws `ConfigurationError` for anything else. */
export function roleGroup(role: RoleName): Group {
  const group = (ROLE_GROUPS as Record<string, Group | undefined>)[role as string];
  if (!group) throw new ConfigurationError(`unknown role ${String(role)}; expected one of ${Object.keys(ROLE_GROUPS).join(', ')}`);
  return group;
}

/** @internal Check fault settings and spell partition members by group, as the bus expects them. */
export function normalizeFaults(f: ClusterFaults | undefined): FaultSettings | undefined {
  if (f === undefined) return undefined;
  if (typeof f !== 'object' || f === null) throw new ConfigurationError('faults must be an object');
  const settings: FaultSettings = {
    ...f,
    partition: f.partition === undefined ? undefined : Array.isArray(f.partition)
      ? f.partition.map((m) => ({ group: roleGroup(m?.group), id: m?.id }))
      : (f.partition as never),
  };
  resolveFaults(settings);
  return settings;
}

function resolveDurable(dataDir: string | undefined, sync: SyncPolicy | undefined): ResolvedClusterOptions<unknown>['durable'] {
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) throw new ConfigurationError('dataDir must be a non-empty path');
  if (sync !== undefined && !SYNC_POLICIES.includes(sync)) throw new ConfigurationError(`sync must be one of ${SYNC_POLICIES.join(', ')}`);
  if (sync !== undefined && dataDir === undefined) throw new ConfigurationError('sync needs dataDir');
  return dataDir === undefined ? undefined : { dataDir: resolvePath(dataDir), sync: sync ?? 'batch' };
}

/** Every member of `topology`, or the ones `host` names (checked against it). */
function resolveHosted(host: HostedMembers | undefined, topology: BusTopology): Readonly<Record<Group, readonly number[]>> {
  if (host === undefined) return Object.fromEntries(GROUPS.map((g) => [g, Array.from({ length: topology[g] }, (_, i) => i)])) as Record<Group, number[]>;
  if (typeof host !== 'object' || host === null) throw new ConfigurationError('host must be an object, e.g. { acceptors: [0], proposers: [0] }');
  rejectUnknownOptions(host, GROUPS, 'group in host');
  const hosted = {} as Record<Group, number[]>;
  for (const g of GROUPS) {
    const ids = host[g] ?? [];
    if (!Array.isArray(ids)) throw new ConfigurationError(`host.${g} must be an array of ${g} ids`);
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= topology[g]) throw new ConfigurationError(`host.${g}: ${String(id)} is not a member; ids run from 0 to ${topology[g] - 1} (${g}: ${topology[g]})`);
    }
    if (new Set(ids).size !== ids.length) throw new ConfigurationError(`host.${g} names a member twice`);
    hosted[g] = [...ids].sort((a, b) => a - b);
  }
  if (GROUPS.every((g) => hosted[g].length === 0)) throw new ConfigurationError('host names no member: a process must run at least one');
  return hosted;
}

function resolveLog(debug: ClusterOptions['debug'], logger: Logger | undefined): Pick<ResolvedClusterOptions<unknown>, 'log' | 'warn'> {
  if (debug !== undefined && typeof debug !== 'boolean' && typeof debug !== 'function') throw new ConfigurationError('debug must be a boolean or a function');
  if (logger !== undefined) {
    if (typeof logger !== 'object' || logger === null || typeof logger.debug !== 'function' || typeof logger.warn !== 'function') {
      throw new ConfigurationError('logger must have debug and warn methods (console and pino loggers do)');
    }
    return { log: (line) => logger.debug(line), warn: (line) => logger.warn(line) };
  }
  if (typeof debug === 'function') return { log: debug, warn: undefined };
  const fromEnv = debug === undefined && ((process.env.PAXOS_DEBUG && process.env.PAXOS_DEBUG !== '0') || debuglog('paxos').enabled);
  return { log: debug === true || fromEnv ? (line: string) => process.stderr.write(`[paxos] ${line}\n`) : undefined, warn: undefined };
}

/** @internal Validate `options` (throws `ConfigurationError`) and fill in the defaults. */
export function resolveClusterOptions<T>(options: ClusterOptions<T>): ResolvedClusterOptions<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('options must be an object');
  rejectUnknownOptions(options, KNOWN_OPTIONS);
  const {
    learners, clients, tickMs, maxOutstanding, codec, transport, faults, debug, startTimeoutMs, proposers, acceptors, trim,
    replayKeepValues, dataDir, sync, workers, signal, logger, unref, host, id, workerResourceLimits, ...protocolRest
  } = options;
  if (id !== undefined && (typeof id !== 'string' || id === '')) throw new ConfigurationError('id must be a non-empty string');
  if (unref !== undefined && typeof unref !== 'boolean') throw new ConfigurationError('unref must be a boolean');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ConfigurationError('signal must be an AbortSignal');
  if (workers !== undefined && workers !== 'role' && workers !== 'replica') throw new ConfigurationError(`workers must be 'role' or 'replica', got ${String(workers)}`);
  const durable = resolveDurable(dataDir, sync);
  if (trim !== undefined && typeof trim !== 'boolean') throw new ConfigurationError('trim must be a boolean');
  const learnerCount = count('learners', learners, 1, 1, 64);
  // The protocol's `trimAfterLearners` counts the learners whose progress gates trimming (0: never trim).
  const protocol = resolveOptions({ ...protocolRest, proposers: proposers ?? 2, acceptors: acceptors ?? 3, trimAfterLearners: trim ? learnerCount : 0 });
  const topology: BusTopology = {
    proposers: protocol.proposers,
    acceptors: protocol.acceptors,
    learners: learnerCount,
    clients: count('clients', clients, 1, 1, 64),
  };
  if (protocol.proposers > 64) throw new ConfigurationError(`proposers must be at most 64 in one process, got ${protocol.proposers}`);
  if (codec !== undefined && (typeof codec !== 'object' || typeof codec.encode !== 'function' || typeof codec.decode !== 'function')) {
    throw new ConfigurationError('codec must be { encode(value): string | Uint8Array, decode(payload): value }');
  }
  const hosted = resolveHosted(host, topology);
  if (host !== undefined && transport === undefined && id === undefined) {
    throw new ConfigurationError('host on the in-process bus needs id (the same for every Cluster of the deployment), or a network transport');
  }
  return {
    protocol,
    topology,
    hosted,
    hostsEverything: host === undefined,
    clusterId: id ?? randomUUID(),
    ...resolveLog(debug, logger),
    tickMs: count('tickMs', tickMs, 5, 1, 1000),
    maxOutstanding: count('maxOutstanding', maxOutstanding, 1024, 1, 1 << 20),
    codec: (codec ?? defaultCodec) as ValueCodec<T>,
    transport: validateTransportSpec(transport),
    faults: normalizeFaults(faults),
    startTimeoutMs: count('startTimeoutMs', startTimeoutMs, 15_000, 1, 600_000),
    replayKeepValues: count('replayKeepValues', replayKeepValues, 1 << 16, 1, 1 << 30),
    durable,
    workers: workers ?? 'role',
    unref: unref ?? false,
    workerResourceLimits: resolveResourceLimits(workerResourceLimits),
  };
}

const RESOURCE_LIMIT_NAMES = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

function resolveResourceLimits(limits: ResourceLimits | undefined): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null) throw new ConfigurationError('workerResourceLimits must be an object');
  rejectUnknownOptions(limits, RESOURCE_LIMIT_NAMES, 'workerResourceLimits field');
  for (const name of RESOURCE_LIMIT_NAMES) {
    const v = limits[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new ConfigurationError(`workerResourceLimits.${name} must be a positive number of MiB, got ${String(v)}`);
    }
  }
  return { ...limits };
}
