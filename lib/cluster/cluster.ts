/**
 * `Cluster`: a whole Multi-Paxos deployment inside one Node process. Every role instance runs on
 * its own `worker_thread`; the roles talk over the in-process bus (worker to worker), and the
 * main thread only submits values, reads the learned order, and controls workers over comlink.
 *
 * ```ts
 * await using cluster = await Cluster.start({ proposers: 2, acceptors: 3, learners: 2, clients: 1 });
 * const position = await cluster.submit('Hello world!');
 * for await (const v of cluster.learned({ learner: 1 })) console.log(v.position, v.value);
 * ```
 */
import { Fifo } from '../protocol/fifo.js';
import { randomInt, randomUUID } from 'node:crypto';
import { type Ballot, INCARNATION_SPACE, ZERO_BALLOT, compareBallots, formatBallot } from '../protocol/ballot.js';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { type Remote, wrap } from 'comlink';
import { EventEmitter } from 'eventemitter3';
import type { AcceptorState } from '../protocol/acceptor.js';
import { ValueTooLargeError } from '../protocol/client.js';
import { type Group, type Payload, SESSION_EXPIRED, SUBMISSION_OVERHEAD, payloadSize } from '../protocol/messages.js';
import { ConfigurationError, type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import type { BusTopology, FaultSettings } from '../transport/bus.js';
import { releaseDataDirLock } from '../runtime/durable-acceptor.js';
import { SYNC_POLICIES, type SyncPolicy } from '../storage/index.js';
import { resolveFaults } from '../transport/bus-faults.js';
import { portEndpoint } from './worker-endpoint.js';
import type { SubmitReply, WorkerControl, WorkerEvent, WorkerInit, WorkerStatus } from './worker-protocol.js';
import { type TransportSpec, validateTransportSpec } from '../runtime/worker-transport.js';
import { type ValueCodec, defaultCodec } from './codec.js';
import { type LearnedOptions, LearnedStream, type LearnedValue } from './learned.js';
import {
  AcceptorStateLostError, ClusterError, ClusterStoppedError, FaultsUnsupportedError, MemberStateError, SessionExpiredError, WorkerExitedError,
  WorkerStartError,
} from './errors.js';

const WORKER_URL = new URL('./worker-main.js', import.meta.url);

function acceptorDir(dataDir: string, id: number): string {
  return joinPath(dataDir, `acceptor-${id}`);
}

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
export interface ClusterOptions<T = unknown> extends Partial<Omit<ProtocolOptions, 'proposers' | 'acceptors' | 'learners'>> {
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
  /** How long a worker may take to start, in ms. Default 15000. */
  startTimeoutMs?: number;
}

/** Why a worker exited. */
export type ExitReason = 'killed' | 'stopped' | 'crashed';

/** Events of a `Cluster` (eventemitter3: `cluster.on('leader', ...)`). */
export interface ClusterEvents {
  /** The proposer the cluster follows changed (undefined: none leads right now). */
  leader: (event: { proposer: number | undefined; ballot: string | undefined }) => void;
  /** A worker exited: `killed` by `kill`, `stopped` by `stop`, `crashed` on its own. */
  exit: (event: { group: Group; id: number; code: number; reason: ExitReason }) => void;
  /** A worker threw, or something failed in the background. Never thrown at you. */
  error: (error: Error) => void;
}

/** One worker's counters, as `Cluster.metrics()` reports them. */
export interface WorkerMetrics {
  readonly group: Group;
  readonly id: number;
  readonly running: boolean;
  /** Role and transport counters; undefined when the worker is down or did not answer. */
  readonly metrics?: Readonly<Record<string, number>>;
}

export interface ClusterMetrics {
  readonly workers: readonly WorkerMetrics[];
  /** Per client handle: values in flight and values waiting for room. */
  readonly clients: readonly { readonly id: number; readonly outstanding: number; readonly queued: number }[];
  /** The proposer currently leading, if any. */
  readonly leader: number | undefined;
}

interface Slot {
  readonly group: Group;
  readonly id: number;
  state: 'down' | 'starting' | 'running';
  worker?: Worker;
  control?: Remote<WorkerControl>;
  controlPort?: MessagePort;
  submitPort?: MessagePort;
  exited?: Promise<number>;
  exitReason?: ExitReason;
  /** Acceptors: the state `kill` saved; `lost` once an acceptor crashed without saving. */
  saved?: AcceptorState;
  lost?: boolean;
  leading?: boolean;
  ballot?: Ballot;
}

interface ResolvedClusterOptions<T> {
  readonly protocol: ResolvedOptions;
  readonly topology: BusTopology;
  readonly tickMs: number;
  readonly maxOutstanding: number;
  readonly codec: ValueCodec<T>;
  readonly transport: TransportSpec | undefined;
  readonly faults: FaultSettings | undefined;
  readonly log: ((line: string) => void) | undefined;
  readonly startTimeoutMs: number;
  readonly replayKeepValues: number;
  readonly durable: { readonly dataDir: string; readonly sync: SyncPolicy } | undefined;
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

function normalizeFaults(f: ClusterFaults | undefined): FaultSettings | undefined {
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

function resolveClusterOptions<T>(options: ClusterOptions<T>): ResolvedClusterOptions<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('options must be an object');
  const {
    learners, clients, tickMs, maxOutstanding, codec, transport, faults, debug, startTimeoutMs, proposers, acceptors, trim,
    replayKeepValues, dataDir, sync, ...protocolRest
  } = options;
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) throw new ConfigurationError('dataDir must be a non-empty path');
  if (sync !== undefined && !SYNC_POLICIES.includes(sync)) throw new ConfigurationError(`sync must be one of ${SYNC_POLICIES.join(', ')}`);
  if (sync !== undefined && dataDir === undefined) throw new ConfigurationError('sync needs dataDir');
  if (trim !== undefined && typeof trim !== 'boolean') throw new ConfigurationError('trim must be a boolean');
  const learnerCount = count('learners', learners, 1, 1, 64);
  // The protocol's `learners` option counts the learners whose progress gates trimming (0: never trim).
  const protocol = resolveOptions({ ...protocolRest, proposers: proposers ?? 2, acceptors: acceptors ?? 3, learners: trim ? learnerCount : 0 });
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
  if (debug !== undefined && typeof debug !== 'boolean' && typeof debug !== 'function') throw new ConfigurationError('debug must be a boolean or a function');
  const log = typeof debug === 'function' ? debug
    : debug === true || (debug === undefined && process.env.PAXOS_DEBUG && process.env.PAXOS_DEBUG !== '0')
      ? (line: string) => process.stderr.write(`[paxos] ${line}\n`)
      : undefined;
  return {
    protocol,
    topology,
    tickMs: count('tickMs', tickMs, 5, 1, 1000),
    maxOutstanding: count('maxOutstanding', maxOutstanding, 1024, 1, 1 << 20),
    codec: (codec ?? defaultCodec) as ValueCodec<T>,
    transport: validateTransportSpec(transport),
    faults: normalizeFaults(faults),
    log,
    startTimeoutMs: count('startTimeoutMs', startTimeoutMs, 15_000, 1, 600_000),
    replayKeepValues: count('replayKeepValues', replayKeepValues, 1 << 16, 1, 1 << 30),
    durable: dataDir === undefined ? undefined : { dataDir: resolvePath(dataDir), sync: sync ?? 'batch' },
  };
}

/** Race a control call against the worker's exit and a timeout (the timer is always cleared). */
function withDeadline<R>(slot: Slot, call: Promise<R>, ms: number, what: string): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const exited = slot.exited;
  return Promise.race([
    call,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ClusterError('ERR_PAXOS_TIMEOUT', `${slot.group}/${slot.id}: ${what} timed out after ${ms} ms`)), ms); }),
    ...(exited ? [exited.then((): never => { throw new WorkerExitedError(slot.group, slot.id); })] : []),
  ]).finally(() => clearTimeout(timer));
}

interface Waiting {
  readonly payload: Payload;
  readonly resolve: (position: number) => void;
  readonly reject: (e: Error) => void;
}

/** Submits values through one client worker. Get one with `cluster.client(i)`. */
export class ClientHandle<T = unknown> {
  /**
   * Submissions waiting for a place under `maxOutstanding`, oldest first.
   * A plain FIFO and one map entry per value in flight: no queue task, closure or extra promise
   * per value, so the main thread can feed a client hundreds of thousands of values per second.
   */
  private readonly waiting = new Fifo<Waiting>();
  /** Values handed to the client worker (or about to be, this turn), by id. */
  private readonly pending = new Map<number, Waiting>();
  private outIds: number[] = [];
  private outValues: Payload[] = [];
  private flushScheduled = false;
  private nextId = 0;

  /** @hidden Handles are made by the cluster; get one with `cluster.client(i)`. */
  constructor(readonly id: number, private readonly cluster: Cluster<T>, private readonly slot: Slot, private readonly maxOutstanding: number) {}

  /**
   * Order `value`; resolves with its 0-based position in the total order once it is decided.
   * Waits (without sending) while `maxOutstanding` values of this client are in flight.
   * Rejects with `ClusterStoppedError` after `stop()`, `MemberStateError` while this client is
   * killed, `WorkerExitedError` if the client dies with the value in flight, `ValueTooLargeError`
   * for a value over `batchMaxBytes`, and a `TypeError` for a value the codec cannot encode.
   */
  submit(value: T): Promise<number> {
    if (this.cluster.stopped) return Promise.reject(new ClusterStoppedError('submit'));
    let payload: Payload;
    try {
      payload = this.cluster.encode(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<number>((resolve, reject) => {
      const entry: Waiting = { payload, resolve, reject };
      if (this.pending.size < this.maxOutstanding && this.waiting.length === 0) this.send(entry);
      else this.waiting.push(entry);
    });
  }

  /** Values sent to the client worker whose position is not known yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Values waiting for room under `maxOutstanding`. */
  get queued(): number {
    return this.waiting.length;
  }

  private send(entry: Waiting): void {
    if (this.cluster.stopped) {
      entry.reject(new ClusterStoppedError('submit'));
      return;
    }
    if (this.slot.state !== 'running' || !this.slot.submitPort) {
      entry.reject(new MemberStateError('clients', this.id, 'is not running'));
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, entry);
    this.outIds.push(id);
    this.outValues.push(entry.payload);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Values settled: let waiting ones take their places, in order. */
  private admit(): void {
    while (this.waiting.length && this.pending.size < this.maxOutstanding) this.send(this.waiting.shift()!);
  }

  private flush(): void {
    this.flushScheduled = false;
    const ids = this.outIds;
    const values = this.outValues;
    this.outIds = [];
    this.outValues = [];
    if (!ids.length) return;
    if (this.slot.state !== 'running' || !this.slot.submitPort) {
      this.failIds(ids, new WorkerExitedError('clients', this.id));
      return;
    }
    this.slot.submitPort.postMessage({ ids, values });
  }

  /** @hidden */
  onReply(reply: SubmitReply): void {
    for (const [id, position] of reply.done ?? []) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      if (position === SESSION_EXPIRED) p.reject(new SessionExpiredError());
      else p.resolve(position);
    }
    for (const [id, code, message, size, limit] of reply.failed ?? []) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      p.reject(code === 'ERR_PAXOS_VALUE_TOO_LARGE' ? new ValueTooLargeError(size!, limit!) : new ClusterError(code, message));
    }
    this.admit();
  }

  /** @hidden The cluster stopped: every value waiting for room or in flight rejects. */
  failAll(error: Error): void {
    for (const w of this.waiting.drain()) w.reject(error);
    this.failInFlight(error);
  }

  /** @hidden Every value in flight fails (the worker exited, or the cluster stopped). */
  failInFlight(error: Error): void {
    this.outIds = [];
    this.outValues = [];
    this.failIds([...this.pending.keys()], error);
  }

  private failIds(ids: readonly number[], error: Error): void {
    for (const id of ids) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      p.reject(error);
    }
    this.admit();
  }
}

/**
 * A Multi-Paxos cluster of worker threads. Start with `Cluster.start(options)`; end with `stop()`
 * or `await using`.
 */
export class Cluster<T = unknown> extends EventEmitter<ClusterEvents> {
  /** Unique per cluster; names its bus channels. */
  readonly id = randomUUID();
  private readonly slots: Slot[] = [];
  private readonly clients: ClientHandle<T>[] = [];
  private readonly streams = new Set<LearnedStream<T>>();
  private faultSettings: FaultSettings | undefined;
  private stopping: Promise<void> | undefined;
  private currentLeader: number | undefined;

  private constructor(private readonly config: ResolvedClusterOptions<T>) {
    super();
    this.faultSettings = config.faults;
    const groups: Group[] = ['acceptors', 'learners', 'proposers', 'clients'];
    for (const group of groups) {
      for (let id = 0; id < config.topology[group]; id++) this.slots.push({ group, id, state: 'down' });
    }
    for (const slot of this.slots) {
      if (slot.group === 'clients') this.clients.push(new ClientHandle<T>(slot.id, this, slot, config.maxOutstanding));
    }
  }

  /**
   * Validate `options`, then start every worker and resolve once all are running. Invalid options
   * reject with `ConfigurationError` before any worker starts; a worker that fails to start
   * rejects with `WorkerStartError` after the others were stopped again.
   */
  static async start<T = unknown>(options: ClusterOptions<T> = {}): Promise<Cluster<T>> {
    const cluster = new Cluster<T>(resolveClusterOptions(options));
    cluster.log(`cluster ${cluster.id} starting: ${JSON.stringify(cluster.config.topology)}`);
    try {
      await Promise.all(cluster.slots.map((s) => cluster.spawn(s)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Group sizes. */
  get topology(): BusTopology {
    return this.config.topology;
  }

  /** The resolved protocol options every worker runs with. */
  get protocolOptions(): ResolvedOptions {
    return this.config.protocol;
  }

  /** True once `stop()` was called. */
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** The proposer currently leading, as far as the main thread heard. */
  get leader(): number | undefined {
    return this.currentLeader;
  }

  /** Submit through client 0. See `ClientHandle.submit`. */
  submit(value: T): Promise<number> {
    return this.clients[0]!.submit(value);
  }

  /** The handle of client `i`. */
  client(i: number): ClientHandle<T> {
    const handle = this.clients[i];
    if (!handle) throw new RangeError(`no client ${i}; the cluster has ${this.clients.length}`);
    return handle;
  }

  /**
   * The values one learner delivered, in order, as an async iterator. `from: 0` (the default)
   * replays from the first value. Breaking out of `for await` unsubscribes; `stop()` ends every
   * iterator. The iterator survives `kill`/`restart` of its learner: it resumes where it was.
   */
  learned(options: LearnedOptions = {}): AsyncIterableIterator<LearnedValue<T>> {
    if (this.stopped) throw new ClusterStoppedError('learned()');
    const learner = options.learner ?? 0;
    const slot = this.slot('learners', learner);
    const from = options.from ?? 0;
    if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`from must be a non-negative integer, got ${String(from)}`);
    const hwm = options.highWaterMark ?? 4096;
    if (!Number.isSafeInteger(hwm) || hwm < 1) throw new RangeError(`highWaterMark must be a positive integer, got ${String(hwm)}`);
    const stream = new LearnedStream<T>(learner, from, this.config.codec, hwm, (s) => this.streams.delete(s));
    this.streams.add(stream);
    if (slot.state === 'running' && slot.control) stream.attach(slot.control);
    return stream;
  }

  /** Status of every worker (down ones report `running: false`). */
  async status(): Promise<WorkerStatus[]> {
    if (this.stopped) throw new ClusterStoppedError('status()');
    return Promise.all(this.slots.map(async (slot): Promise<WorkerStatus> => {
      const down: WorkerStatus = { group: slot.group, id: slot.id, running: false };
      if (slot.state !== 'running' || !slot.control) return down;
      try {
        return await withDeadline(slot, slot.control.status(), 2000, 'status');
      } catch {
        return down;
      }
    }));
  }

  /** Counters of every worker (role and transport), and the clients' queues. */
  async metrics(): Promise<ClusterMetrics> {
    if (this.stopped) throw new ClusterStoppedError('metrics()');
    const workers = await Promise.all(this.slots.map(async (slot): Promise<WorkerMetrics> => {
      if (slot.state !== 'running' || !slot.control) return { group: slot.group, id: slot.id, running: false };
      try {
        return { group: slot.group, id: slot.id, running: true, metrics: await withDeadline(slot, slot.control.metrics(), 2000, 'metrics') };
      } catch {
        return { group: slot.group, id: slot.id, running: slot.state === 'running' };
      }
    }));
    return { workers, clients: this.clients.map((c) => ({ id: c.id, outstanding: c.outstanding, queued: c.queued })), leader: this.currentLeader };
  }

  /**
   * Crash a worker abruptly. Acceptors crash with stable storage: the worker stops handling
   * messages at once and its durable state (promised ballot, accepted values) is kept for
   * `restart`. Proposers, learners and clients lose their memory; a killed client's values in
   * flight reject with `WorkerExitedError`.
   */
  async kill(role: RoleName, id: number): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('kill()');
    const slot = this.slot(roleGroup(role), id);
    if (slot.state !== 'running') throw new MemberStateError(slot.group, id, 'is not running');
    slot.exitReason = 'killed';
    if (slot.group === 'acceptors' && !this.config.durable) {
      try {
        slot.saved = await withDeadline(slot, slot.control!.freeze(), 5000, 'freeze');
      } catch (e) {
        slot.saved = undefined;
        slot.lost = true;
        this.emit('error', new ClusterError('ERR_PAXOS_ACCEPTOR_STATE_LOST', `acceptors/${id}: could not save state on kill: ${(e as Error).message}`));
      }
    }
    this.log(`kill ${slot.group}/${id}`);
    await this.terminate(slot);
  }

  /**
   * Start a killed (or crashed) worker again. Acceptors come back with the state saved when they
   * were killed; an acceptor that crashed on its own has none and is refused with
   * `AcceptorStateLostError`. Proposers and clients come back as new incarnations; learners catch
   * up from the first value, and their open `learned()` iterators resume.
   */
  async restart(role: RoleName, id: number): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('restart()');
    const slot = this.slot(roleGroup(role), id);
    if (slot.state !== 'down') throw new MemberStateError(slot.group, id, 'is already running');
    if (slot.group === 'acceptors' && this.config.durable) {
      // The terminated worker could not release its directory lock; its state is on disk.
      await releaseDataDirLock(acceptorDir(this.config.durable.dataDir, id));
    } else if (slot.group === 'acceptors' && (slot.lost || !slot.saved)) {
      throw new AcceptorStateLostError(id);
    }
    this.log(`restart ${slot.group}/${id}`);
    await this.spawn(slot);
  }

  /**
   * Change bus faults on every running worker (and those started later). `{}` heals everything.
   * Rejects with `FaultsUnsupportedError` when the transport has no fault injection.
   */
  async faults(settings: ClusterFaults): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('faults()');
    const normalized = normalizeFaults(settings) ?? {};
    this.faultSettings = normalized;
    this.log(`faults ${JSON.stringify(normalized)}`);
    const results = await Promise.all(this.slots.map(async (slot) => {
      if (slot.state !== 'running' || !slot.control) return true;
      try {
        return await withDeadline(slot, slot.control.setFaults(normalized), 2000, 'setFaults');
      } catch {
        return true; // a worker that exits meanwhile gets the settings when it restarts
      }
    }));
    if (results.includes(false)) throw new FaultsUnsupportedError();
  }

  /**
   * Stop everything: every iterator ends, every queued or in-flight `submit` rejects with
   * `ClusterStoppedError`, every worker stops and exits. Idempotent. Afterwards no worker, port or
   * timer of the cluster is left, so the process can exit on its own.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ----------------------------------------------------------------------------- internals

  /** @hidden */
  encode(value: T): Payload {
    const payload = this.config.codec.encode(value);
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) throw new TypeError('codec.encode must return a string or Uint8Array');
    const size = payloadSize(payload);
    const limit = this.config.protocol.batchMaxBytes - SUBMISSION_OVERHEAD;
    if (size > limit) throw new ValueTooLargeError(size, limit);
    return payload;
  }

  private slot(group: Group, id: number): Slot {
    const slot = this.slots.find((s) => s.group === group && s.id === id);
    if (!slot) throw new RangeError(`no ${group}/${String(id)}; the cluster has ${this.config.topology[group]} ${group}`);
    return slot;
  }

  private log(line: string): void {
    this.config.log?.(line);
  }

  private async shutdown(): Promise<void> {
    this.log('stopping');
    const stopped = new ClusterStoppedError('submit');
    for (const c of this.clients) c.failAll(stopped);
    for (const s of [...this.streams]) s.end();
    await Promise.all(this.slots.map(async (slot) => {
      if (slot.state === 'down' || !slot.worker) return;
      slot.exitReason = 'stopped';
      let graceMs = 0;
      if (slot.state === 'running' && slot.control) {
        try {
          await withDeadline(slot, slot.control.stop(), 2000, 'stop');
          graceMs = 1000;
        } catch {
          // terminate below regardless
        }
      }
      await this.terminate(slot, graceMs);
      // A worker terminated before it closed its store leaves its lock behind; it is gone now.
      if (slot.group === 'acceptors' && this.config.durable) await releaseDataDirLock(acceptorDir(this.config.durable.dataDir, slot.id));
    }));
    this.log('stopped');
  }

  /** Terminate a worker, after letting it exit on its own for up to `graceMs`. */
  private async terminate(slot: Slot, graceMs = 0): Promise<void> {
    const worker = slot.worker;
    const exited = slot.exited;
    if (!worker || !exited) return;
    if (graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), graceMs); }),
      ]).finally(() => clearTimeout(timer));
      if (gone) return;
    }
    await worker.terminate();
    await exited;
  }

  private spawn(slot: Slot): Promise<void> {
    const control = new MessageChannel();
    const submit = slot.group === 'clients' ? new MessageChannel() : undefined;
    const init: WorkerInit = {
      group: slot.group,
      id: slot.id,
      clusterId: this.id,
      topology: this.config.topology,
      protocol: this.config.protocol,
      tickMs: this.config.tickMs,
      replayKeepValues: this.config.replayKeepValues,
      durable: slot.group === 'acceptors' && this.config.durable
        ? { dir: acceptorDir(this.config.durable.dataDir, slot.id), sync: this.config.durable.sync } : undefined,
      incarnation: randomInt(0, INCARNATION_SPACE),
      transport: this.config.transport,
      faults: this.faultSettings,
      restored: slot.group === 'acceptors' ? slot.saved : undefined,
      debug: this.config.log !== undefined,
      control: control.port2,
      submit: submit?.port2,
    };
    const worker = new Worker(WORKER_URL, { workerData: init, transferList: submit ? [control.port2, submit.port2] : [control.port2] });
    slot.worker = worker;
    slot.state = 'starting';
    slot.exitReason = undefined;
    slot.leading = false;
    slot.controlPort = control.port1;
    slot.control = wrap<WorkerControl>(portEndpoint(control.port1));
    slot.submitPort = submit?.port1;
    const handle = slot.group === 'clients' ? this.clients[slot.id] : undefined;
    submit?.port1.on('message', (reply: SubmitReply) => handle?.onReply(reply));
    slot.exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(`no ready signal within ${this.config.startTimeoutMs} ms`), this.config.startTimeoutMs);
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        reject(new WorkerStartError(slot.group, slot.id, reason));
      };
      worker.on('message', (event: WorkerEvent) => {
        if (event.type === 'ready' && !settled) {
          settled = true;
          clearTimeout(timer);
          slot.state = 'running';
          // The acceptor holds its state again; the next kill saves a fresh copy.
          if (slot.group === 'acceptors') slot.saved = undefined;
          if (slot.group === 'learners') for (const s of this.streams) if (s.learner === slot.id) s.attach(slot.control!);
          resolve();
        } else {
          this.onEvent(slot, event);
        }
      });
      worker.on('error', (err) => {
        if (!settled) fail(err.message);
        else this.emit('error', Object.assign(err, { group: slot.group, id: slot.id }));
      });
      worker.once('exit', (code) => {
        if (!settled) fail(`exited with code ${code} while starting`);
        this.onExit(slot, worker, code);
      });
    });
  }

  private onEvent(slot: Slot, event: WorkerEvent): void {
    switch (event.type) {
      case 'leader':
        slot.leading = event.leading;
        slot.ballot = event.ballot;
        this.updateLeader();
        break;
      case 'log':
        this.log(event.line);
        break;
      case 'ready':
        break;
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    const reason: ExitReason = slot.exitReason ?? 'crashed';
    slot.state = 'down';
    slot.worker = undefined;
    slot.control = undefined;
    slot.controlPort?.close();
    slot.controlPort = undefined;
    slot.submitPort?.close();
    slot.submitPort = undefined;
    if (slot.group === 'acceptors' && reason === 'crashed' && !this.config.durable) {
      slot.saved = undefined;
      slot.lost = true;
    }
    if (slot.group === 'clients') this.clients[slot.id]?.failInFlight(this.stopped ? new ClusterStoppedError('submit') : new WorkerExitedError('clients', slot.id));
    if (slot.group === 'learners') for (const s of this.streams) if (s.learner === slot.id) s.detach();
    if (slot.group === 'proposers' && slot.leading) {
      slot.leading = false;
      this.updateLeader();
    }
    this.log(`${slot.group}/${slot.id} exited (${reason}, code ${code})`);
    this.emit('exit', { group: slot.group, id: slot.id, code, reason });
  }

  /** The cluster's leader: the running proposer that claims to lead with the highest ballot. */
  private updateLeader(): void {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.group !== 'proposers' || !s.leading || s.state === 'down') continue;
      if (!best || compareBallots(s.ballot ?? ZERO_BALLOT, best.ballot ?? ZERO_BALLOT) > 0) best = s;
    }
    const leader = best?.id;
    if (leader === this.currentLeader) return;
    this.currentLeader = leader;
    const ballot = best?.ballot ? formatBallot(best.ballot) : undefined;
    this.log(`leader: ${leader === undefined ? 'none' : `proposers/${leader} (ballot ${ballot})`}`);
    this.emit('leader', { proposer: leader, ballot });
  }
}
