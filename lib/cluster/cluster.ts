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
 *
 * This file wires the parts together: `supervisor.ts` runs the workers, `client-handle.ts` is the
 * submit path, `learned.ts` the iterators, `leader.ts` follows the leader, and
 * `cluster-options.ts` validates the options.
 */
import { EventEmitter } from 'eventemitter3';
import type { Group, Payload } from '../protocol/messages.js';
import type { MembershipRequest } from '../protocol/membership.js';
import { encodeValue } from './codec.js';
import { type Membership, type ReconfigureOptions, currentMembership, reconfigure } from './reconfigure.js';
import type { ResolvedOptions } from '../protocol/options.js';
import type { BusTopology } from '../transport/bus.js';
import type { WorkerStatus } from './worker-protocol.js';
import {
  type ClusterFaults, type ClusterOptions, type ResolvedClusterOptions, type RoleName, normalizeFaults, resolveClusterOptions, roleGroup,
} from './cluster-options.js';
import { ClientHandle, type SubmitOptions } from './client-handle.js';
import { KeepAlive } from './keep-alive.js';
import { type HandOverContext, handOver, handOverBeforeStop } from './hand-over.js';
import { waitForLeader } from './leader-wait.js';
import { type ReplicateOptions, Replica, type StateMachine, checkReplicateOptions } from './replica.js';
import type { ClusterEvents, ClusterMetrics } from './cluster-types.js';
import { clusterMetrics, clusterStatus } from './cluster-report.js';
import { Supervisor, type SupervisorHooks, type WorkerExit } from './supervisor.js';
import { LeaderTracker } from './leader.js';
import { LearnedBatches, type LearnedOptions, type LearnedStream, LearnedStreams, type LearnedValue } from './learned.js';
import {
  ClusterError, ClusterStoppedError, FaultsUnsupportedError, InvalidArgumentError, NotHostedError, UnknownMemberError,
} from './errors.js';

export { ClientHandle, type SubmitOptions } from './client-handle.js';
export { roleGroup, type ClusterFaults, type ClusterOptions, type HostedMembers, type Logger, type RoleName, type WorkerPlacement } from './cluster-options.js';
export type { ExitReason } from './supervisor.js';
export { Replica, type ReplicateOptions, type StateMachine } from './replica.js';
export type { Membership, ReconfigureOptions } from './reconfigure.js';
export type { ClusterEvents, ClusterMetrics, MetricName, WorkerMetrics } from './cluster-types.js';

/**
 * A Multi-Paxos cluster of worker threads. Start with `Cluster.start(options)`; end with `stop()`
 * or `await using`.
 */
export class Cluster<T = unknown> extends EventEmitter<ClusterEvents> {
  /** Names the deployment's bus channels: the `id` option, else unique per cluster. */
  readonly id: string;
  private readonly workers: Supervisor;
  /** The hosted clients' handles, by client id. */
  private readonly clients = new Map<number, ClientHandle<T>>();
  private readonly streams: LearnedStreams<T>;
  private readonly leaders = new LeaderTracker((proposer, ballot) => {
    this.log(`leader: ${proposer === undefined ? 'none' : `proposers/${proposer} (ballot ${ballot})`}`);
    this.emit('leader', { proposer, ballot });
  });
  private stopping: Promise<void> | undefined;
  /** `ready()` and `transferLeadership()` calls still waiting: `stop()` rejects them. */
  private readonly waitingForLeader = new Set<() => void>();
  private get leaderWaits() { return { source: this, keepAlive: this.keepAlive, onStop: this.waitingForLeader }; }
  /** With `unref`: what keeps the process alive while the application waits for the cluster. */
  private readonly keepAlive: KeepAlive;

  private constructor(private readonly config: ResolvedClusterOptions<T>) {
    super();
    this.id = config.clusterId;
    this.keepAlive = new KeepAlive(config.unref);
    this.streams = new LearnedStreams(config.codec);
    this.workers = new Supervisor(this.id, config, this.workerHooks());
    for (const id of config.hosted.clients) {
      this.clients.set(id, new ClientHandle<T>(id, {
        encode: (value) => this.encode(value),
        submitPort: () => this.workers.submitPort(id),
        busy: (busy) => (busy ? this.keepAlive.hold() : this.keepAlive.release()),
      }, config.maxOutstanding));
    }
  }

  /**
   * Validate `options`, then start every worker and resolve once all are running. Invalid options
   * reject with `ConfigurationError` before any worker starts; a worker that fails to start
   * rejects with `WorkerStartError` after the others were stopped again. When `options.signal`
   * aborts before every worker runs, the workers started so far are stopped and the call rejects
   * with the signal's reason.
   *
   * @example
   * ```ts
   * await using cluster = await Cluster.start({ proposers: 2, acceptors: 3, learners: 2, clients: 1 });
   * await cluster.ready();
   * ```
   */
  static async start<T = unknown>(options: ClusterOptions<T> = {}): Promise<Cluster<T>> {
    const signal = options.signal;
    const cluster = new Cluster<T>(resolveClusterOptions(options));
    if (signal?.aborted) throw signal.reason;
    cluster.log(`cluster ${cluster.id} starting: ${JSON.stringify(cluster.config.topology)}`);
    const onAbort = (): void => void cluster.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await cluster.workers.startAll();
      if (signal?.aborted) throw signal.reason;
    } catch (e) {
      await cluster.stop();
      throw signal?.aborted ? signal.reason : e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return cluster;
  }

  /** Group sizes of the whole deployment. */
  get topology(): BusTopology {
    return this.config.topology;
  }

  /** The members this process runs, by group (every member unless `host` was given). */
  get hosted(): Readonly<Record<Group, readonly number[]>> {
    return this.config.hosted;
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
    return this.leaders.leader;
  }

  /**
   * Submit through client 0 (with `host`: the lowest hosted client); resolves with the value's
   * position once decided. See `ClientHandle.submit`.
   *
   * @example
   * ```ts
   * const position = await cluster.submit({ op: 'set', key: 'k', value: 1 });
   * const bounded = await cluster.submit('v', { signal: AbortSignal.timeout(5_000) });
   * ```
   */
  submit(value: T, options?: SubmitOptions): Promise<number> {
    const handle = this.firstClient();
    return handle ? handle.submit(value, options) : Promise.reject(new NotHostedError('clients', 0));
  }

  /**
   * Submit many values through client 0 (with `host`: the lowest hosted client) with one promise,
   * resolving with their positions. See `ClientHandle.submitMany`.
   *
   * @example
   * ```ts
   * const positions = await cluster.submitMany(['a', 'b', 'c']);
   * ```
   */
  submitMany(values: readonly T[], options?: SubmitOptions): Promise<number[]> {
    const handle = this.firstClient();
    return handle ? handle.submitMany(values, options) : Promise.reject(new NotHostedError('clients', 0));
  }

  /**
   * A read barrier through client 0 (with `host`: the lowest hosted client): resolves with P, and
   * every value decided before the call is below position P. Read once a learner delivered P
   * values: the read is linearizable. See `ClientHandle.barrier`.
   */
  barrier(options?: SubmitOptions): Promise<number> {
    const handle = this.firstClient();
    return handle ? handle.barrier(options) : Promise.reject(new NotHostedError('clients', 0));
  }

  /**
   * Resolves with the leading proposer's id once one leads (at once if one does): from then on
   * submits are ordered without an election first. Rejects with the signal's reason when
   * `signal` aborts, with a `ClusterError` (`ERR_PAXOS_TIMEOUT`) after `timeoutMs`, and with
   * `ClusterStoppedError` if the cluster stops meanwhile. With `host`, the leader may run in another
   * process: it is heard in heartbeats, which reach hosted proposers and learners (a process that
   * hosts neither is refused with `ERR_PAXOS_LEADER_UNSEEN`).
   *
   * @example
   * ```ts
   * const leader = await cluster.ready({ timeoutMs: 10_000 });
   * ```
   */
  ready(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<number> {
    if (this.stopped) return Promise.reject(new ClusterStoppedError('ready()'));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason as Error);
    if (this.leader !== undefined) return Promise.resolve(this.leader);
    const { hosted } = this.config;
    if (hosted.proposers.length === 0 && hosted.learners.length === 0) {
      return Promise.reject(new ClusterError('ERR_PAXOS_LEADER_UNSEEN', 'ready() needs a hosted proposer or learner to hear the leader (submit() works without it)'));
    }
    const { timeoutMs } = options;
    return waitForLeader(this.leaderWaits, { what: 'ready()', accept: (l) => l !== undefined, signal: options.signal, timeoutMs,
      onTimeout: () => new ClusterError('ERR_PAXOS_TIMEOUT', `no leader within ${timeoutMs} ms`) });
  }

  /**
   * Hand leadership over to proposer `to` before a planned stop of the leader's machine: the
   * leader stops admitting values, drains, waits until `to` has delivered as far, and tells it to
   * take over at once (no gap; clients resend). A leader in another process is asked by a proposer
   * hosted here. Resolves once `to` leads. Rejects with `TransferFailedError` when nobody leads, the
   * leader runs elsewhere and no proposer runs here, or `to` has not taken over within `timeoutMs`
   * (default: twice the leader timeout plus one; the old leader then goes on leading).
   */
  async transferLeadership(to: number, options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('transferLeadership()');
    return handOver(this.handOverContext(), to, options);
  }

  /**
   * Change the acceptors (by stop-sign, docs/membership.md): the next epoch votes with `acceptors`
   * (acceptor slot ids; spares run and wait) and their quorums (default majorities), while values
   * keep being ordered. Asked through a proposer hosted here until it holds; resolves with the new
   * membership and the position it orders from. Rejects with `ConfigurationError` (a membership that
   * cannot work) or `MembershipChangeError` (no proposer here, another change won, no quorum in time).
   */
  async reconfigure(request: MembershipRequest, options: ReconfigureOptions = {}): Promise<Membership> {
    if (this.stopped) throw new ClusterStoppedError('reconfigure()');
    return reconfigure(this.handOverContext(), request, options);
  }

  /** The membership in effect, as a proposer hosted here sees it (undefined: none runs here). */
  membership(): Promise<Membership | undefined> { return currentMembership(this.handOverContext()); }

  /**
   * Keep `machine` from one learner's values, with snapshots (needs `stateSnapshots`): every
   * `snapshotEvery` values its snapshot goes to the learner, which keeps it (in `dataDir` too),
   * serves it to peers and holds trimming back to it. A learner restarted after the log was
   * trimmed past it restores a state (its own, or a peer's), and so does the machine. See replica.ts.
   */
  replicate(machine: StateMachine<T>, options: ReplicateOptions = {}): Replica<T> {
    if (this.stopped) throw new ClusterStoppedError('replicate()');
    const { learner, every } = checkReplicateOptions(options, this.config.protocol.stateSnapshots, this.config.hosted.learners);
    const replica = new Replica<T>(learner, machine, every, {
      open: (from, signal) => this.openStream({ learner, from, signal }),
      control: () => this.workers.runningControl('learners', learner),
    }, options.signal);
    replica.done.catch((e: unknown) => this.reportError(e as Error));
    return replica;
  }

  /** The handle of client `i`. */
  client(i: number): ClientHandle<T> {
    const handle = this.clients.get(i);
    if (handle) return handle;
    if (Number.isInteger(i) && i >= 0 && i < this.topology.clients) throw new NotHostedError('clients', i);
    throw new UnknownMemberError('clients', i, this.topology.clients);
  }

  /**
   * The values one learner delivered, in order, as an async iterator. `from: 0` (the default)
   * replays from the first value. Breaking out of `for await` unsubscribes; `stop()` ends every
   * iterator. The iterator survives `kill`/`restart` of its learner: it resumes where it was.
   *
   * @example
   * ```ts
   * for await (const { position, value } of cluster.learned({ learner: 1, from: 0 })) {
   *   apply(value); // every learner yields the same values in the same order
   * }
   * ```
   */
  learned(options: LearnedOptions = {}): AsyncIterableIterator<LearnedValue<T>> {
    return this.openStream(options);
  }

  /**
   * `learned()` for bulk readers: each step yields every value that arrived since the last one
   * (at most `maxBatch`, default 4096), in order, as one array — one iterator step and one promise
   * per batch instead of per value. Same options, flow control, restart and trim behaviour.
   *
   * @example
   * ```ts
   * for await (const batch of cluster.learnedBatches({ from: 0 })) for (const v of batch) apply(v.value);
   * ```
   */
  learnedBatches(options: LearnedOptions & { readonly maxBatch?: number } = {}): AsyncIterableIterator<LearnedValue<T>[]> {
    const { maxBatch = 4096, ...rest } = options;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`maxBatch must be a positive integer, got ${String(maxBatch)}`);
    return new LearnedBatches(this.openStream(rest), maxBatch);
  }

  /** Status of every role instance (those whose worker is down report `running: false`). */
  async status(): Promise<WorkerStatus[]> {
    if (this.stopped) throw new ClusterStoppedError('status()');
    return clusterStatus(this.workers);
  }

  /** Counters of every role instance (role, and its worker's transport), and the clients' queues. */
  async metrics(): Promise<ClusterMetrics> {
    if (this.stopped) throw new ClusterStoppedError('metrics()');
    return clusterMetrics(this.workers, [...this.clients.values()], this.leader);
  }

  /**
   * Crash a worker abruptly. Acceptors crash with stable storage: the worker stops at once, its
   * durable state (promises, accepted values) kept for `restart`. Proposers, learners and clients
   * lose their memory; a killed client's values in flight reject with `WorkerExitedError`.
   */
  async kill(role: RoleName, id: number): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('kill()');
    await this.workers.kill(roleGroup(role), id);
  }

  /**
   * Start a killed (or crashed) worker again. Acceptors come back with the state saved when they
   * were killed (one that crashed on its own has none: `AcceptorStateLostError`). Proposers and
   * clients come back as new incarnations; learners catch up, and their `learned()` iterators resume.
   */
  async restart(role: RoleName, id: number): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('restart()');
    await this.workers.restart(roleGroup(role), id);
  }

  /**
   * Change bus faults on every running worker (and those started later). `{}` heals everything.
   * Rejects with `FaultsUnsupportedError` when the transport has no fault injection.
   */
  async faults(settings: ClusterFaults): Promise<void> {
    if (this.stopped) throw new ClusterStoppedError('faults()');
    const normalized = normalizeFaults(settings) ?? {};
    this.log(`faults ${JSON.stringify(normalized)}`);
    if (!(await this.workers.setFaults(normalized))) throw new FaultsUnsupportedError();
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
    return encodeValue(this.config.codec, value, this.config.protocol.batchMaxBytes);
  }

  /** The lowest hosted client's handle (what `submit` and `submitMany` use), if this process hosts one. */
  private firstClient(): ClientHandle<T> | undefined {
    const first = this.config.hosted.clients[0];
    return first === undefined ? undefined : this.clients.get(first);
  }

  /** One learner's stream (default: the lowest hosted learner), for `learned()` and `learnedBatches()`. */
  private openStream(options: LearnedOptions): LearnedStream<T> {
    if (this.stopped) throw new ClusterStoppedError('learned()');
    const learner = options.learner ?? this.config.hosted.learners[0];
    if (learner === undefined) throw new NotHostedError('learners', 0);
    return this.streams.add(learner, options, this.workers.runningControl('learners', learner));
  }

  private log(line: string): void {
    this.config.log?.(line);
  }

  private async shutdown(): Promise<void> {
    this.log('stopping');
    if (!this.config.hostsEverything) await handOverBeforeStop(this.handOverContext());
    const stopped = new ClusterStoppedError('submit');
    for (const c of this.clients.values()) c.failAll(stopped);
    for (const stop of [...this.waitingForLeader]) stop();
    this.streams.endAll();
    await this.workers.stopAll();
    this.log('stopped');
  }

  private handOverContext(): HandOverContext {
    return { protocol: this.config.protocol, hosted: this.config.hosted.proposers, leader: () => this.leader,
      control: (id) => this.workers.runningControl('proposers', id), waits: this.leaderWaits, log: (line) => this.log(line) };
  }

  /** What the workers' lives mean for the submit path, the iterators and the leader. */
  private workerHooks(): SupervisorHooks {
    return {
      learnerReady: (id, control) => this.streams.attach(id, control),
      leader: (proposer, leading, ballot) => this.leaders.claim(proposer, leading, ballot),
      heard: (worker, proposer, ballot) => this.leaders.hear(worker, proposer, ballot),
      reply: (client, reply) => this.clients.get(client)?.onReply(reply),
      exit: (exit) => this.onExit(exit),
      error: (error) => this.reportError(error),
    };
  }

  /**
   * Background errors go to `error` listeners; with none, they become a process warning (as an
   * unhandled `error` event would be noticed in Node), never silence and never a crash.
   */
  private reportError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else if (this.config.warn) this.config.warn(`${error.name}: ${error.message}`);
    else process.emitWarning(error.message, { type: 'PaxosClusterWarning', code: (error as { code?: string }).code ?? 'ERR_PAXOS_WORKER', detail: 'add a cluster.on(\'error\', ...) listener to handle it' });
  }

  private onExit({ group, id, code, reason }: WorkerExit): void {
    if (group === 'clients') this.clients.get(id)?.onWorkerExit();
    if (group === 'learners') this.streams.detach(id);
    if (group === 'proposers') this.leaders.drop(id);
    this.log(`${group}/${id} exited (${reason}, code ${code})`);
    this.emit('exit', { group, id, code, reason });
  }
}
