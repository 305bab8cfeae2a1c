/**
 * The role workers of one cluster: starting each one (a fresh incarnation every time), watching
 * it until it is ready, killing, restarting and stopping it, and keeping acceptors' state across
 * those lives — on disk in their data directories (whose locks a terminated worker leaves
 * behind), or, for in-memory acceptors, handed over from `kill` to `restart`.
 */
import { randomInt } from 'node:crypto';
import { join as joinPath } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { type Remote, wrap } from 'comlink';
import type { AcceptorState } from '../protocol/acceptor.js';
import { type Ballot, INCARNATION_SPACE } from '../protocol/ballot.js';
import type { Group } from '../protocol/messages.js';
import type { FaultSettings } from '../transport/bus.js';
import { releaseDataDirLock } from '../runtime/durable-acceptor.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { portEndpoint } from './worker-endpoint.js';
import type { SubmitReply, WorkerControl, WorkerEvent, WorkerInit } from './worker-protocol.js';
import { AcceptorStateLostError, ClusterError, MemberStateError, WorkerExitedError, WorkerStartError } from './errors.js';

const WORKER_URL = new URL('./worker-main.js', import.meta.url);

/** Why a worker exited. */
export type ExitReason = 'killed' | 'stopped' | 'crashed';

/** @internal A worker that exited. */
export interface WorkerExit {
  readonly group: Group;
  readonly id: number;
  readonly code: number;
  readonly reason: ExitReason;
}

/** @internal One worker, as a control call's fallback sees it. */
export interface Member {
  readonly group: Group;
  readonly id: number;
  readonly running: boolean;
}

/** @internal What the supervisor reports to its cluster. */
export interface SupervisorHooks {
  /** A learner worker is ready for `learned()` subscriptions. */
  learnerReady(id: number, control: Remote<WorkerControl>): void;
  /** A proposer started or stopped leading. */
  leader(proposer: number, leading: boolean, ballot: Ballot): void;
  /** A client worker answered submissions. */
  reply(client: number, reply: SubmitReply): void;
  /** A worker is gone; its ports are closed already. */
  exit(exit: WorkerExit): void;
  /** A worker threw after it started, or an acceptor's state could not be saved. */
  error(error: Error): void;
}

/** @internal The resolved options a worker is started with. */
export type WorkerSettings = Omit<ResolvedClusterOptions<unknown>, 'codec' | 'maxOutstanding'>;

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
  /** In-memory acceptors: the state `kill` saved; `lost` once an acceptor crashed without saving. */
  saved?: AcceptorState;
  lost?: boolean;
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

/** @internal */
export class Supervisor {
  /** Every worker, in start order. */
  private readonly slots: Slot[] = [];
  /** The same workers by group and id (`submitPort` is asked once per submitted value). */
  private readonly byGroup: Record<Group, Slot[]> = { acceptors: [], learners: [], proposers: [], clients: [] };
  /** The bus faults every worker starts with: those of `Cluster.start`, then the last `setFaults`. */
  private faults: FaultSettings | undefined;

  constructor(private readonly clusterId: string, private readonly config: WorkerSettings, private readonly hooks: SupervisorHooks) {
    this.faults = config.faults;
    for (const group of ['acceptors', 'learners', 'proposers', 'clients'] as const) {
      for (let id = 0; id < config.topology[group]; id++) this.byGroup[group].push({ group, id, state: 'down' });
      this.slots.push(...this.byGroup[group]);
    }
  }

  /** Start every worker; resolves once all are running, rejects with the first `WorkerStartError`. */
  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.spawn(s)));
  }

  /** The control API of a running worker; undefined while it is down or starting. Throws `RangeError` for no such member. */
  runningControl(group: Group, id: number): Remote<WorkerControl> | undefined {
    const slot = this.slot(group, id);
    return slot.state === 'running' ? slot.control : undefined;
  }

  /** The submission port of a running client worker; undefined while it is down or starting. */
  submitPort(client: number): MessagePort | undefined {
    const slot = this.slot('clients', client);
    return slot.state === 'running' ? slot.submitPort : undefined;
  }

  /**
   * Make the same control call on every worker (2 s each). `fallback` answers for a worker that
   * is down, or that fails, times out or exits meanwhile.
   */
  askAll<R>(what: string, call: (control: Remote<WorkerControl>, member: Member) => Promise<R>, fallback: (member: Member) => R): Promise<R[]> {
    return Promise.all(this.slots.map(async (slot) => {
      const member = (): Member => ({ group: slot.group, id: slot.id, running: slot.state === 'running' });
      if (slot.state !== 'running' || !slot.control) return fallback(member());
      try {
        return await withDeadline(slot, call(slot.control, member()), 2000, what);
      } catch {
        return fallback(member());
      }
    }));
  }

  /** Change the faults of every running worker and of those started later; false if some transport has no fault injection. */
  async setFaults(settings: FaultSettings): Promise<boolean> {
    this.faults = settings;
    // A worker that exits meanwhile gets the settings when it restarts.
    const results = await this.askAll('setFaults', (control) => control.setFaults(settings), () => true);
    return !results.includes(false);
  }

  /** Crash a running worker; an in-memory acceptor first hands its state over for `restart`. */
  async kill(group: Group, id: number): Promise<void> {
    const slot = this.slot(group, id);
    if (slot.state !== 'running') throw new MemberStateError(slot.group, id, 'is not running');
    slot.exitReason = 'killed';
    if (this.handsOver(slot)) await this.saveState(slot);
    this.log(`kill ${slot.group}/${id}`);
    await this.terminate(slot);
  }

  /** Start a worker that is down again; refuses an in-memory acceptor whose state was lost. */
  async restart(group: Group, id: number): Promise<void> {
    const slot = this.slot(group, id);
    if (slot.state !== 'down') throw new MemberStateError(slot.group, id, 'is already running');
    if (this.handsOver(slot) && (slot.lost || !slot.saved)) throw new AcceptorStateLostError(id);
    // A durable acceptor's terminated worker could not release its directory lock; its state is on disk.
    await this.releaseLock(slot);
    this.log(`restart ${slot.group}/${id}`);
    await this.spawn(slot);
  }

  /** Stop every worker that is up, and release durable acceptors' directory locks. */
  async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.stop(slot)));
  }

  private slot(group: Group, id: number): Slot {
    const slot = Number.isInteger(id) ? this.byGroup[group][id] : undefined;
    if (!slot) throw new RangeError(`no ${group}/${String(id)}; the cluster has ${this.config.topology[group]} ${group}`);
    return slot;
  }

  private log(line: string): void {
    this.config.log?.(line);
  }

  /** Ask a worker to stop (2 s), give it 1 s to exit on its own, then terminate it. */
  private async stop(slot: Slot): Promise<void> {
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
    await this.releaseLock(slot);
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
    const init = this.workerInit(slot, control.port2, submit?.port2);
    const worker = new Worker(WORKER_URL, { workerData: init, transferList: submit ? [control.port2, submit.port2] : [control.port2] });
    slot.worker = worker;
    slot.state = 'starting';
    slot.exitReason = undefined;
    slot.controlPort = control.port1;
    slot.control = wrap<WorkerControl>(portEndpoint(control.port1));
    slot.submitPort = submit?.port1;
    submit?.port1.on('message', (reply: SubmitReply) => this.hooks.reply(slot.id, reply));
    slot.exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    return this.watch(slot, worker);
  }

  private workerInit(slot: Slot, control: MessagePort, submit: MessagePort | undefined): WorkerInit {
    return {
      group: slot.group,
      id: slot.id,
      clusterId: this.clusterId,
      topology: this.config.topology,
      protocol: this.config.protocol,
      tickMs: this.config.tickMs,
      replayKeepValues: this.config.replayKeepValues,
      durable: this.store(slot),
      incarnation: randomInt(0, INCARNATION_SPACE),
      transport: this.config.transport,
      faults: this.faults,
      restored: slot.saved,
      debug: this.config.log !== undefined,
      control,
      submit,
    };
  }

  /** Resolve once the worker reports ready; reject with `WorkerStartError` if it throws, exits or stays silent first. */
  private watch(slot: Slot, worker: Worker): Promise<void> {
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
        if (event.type !== 'ready') this.onEvent(slot, event);
        else if (!settled) {
          settled = true;
          clearTimeout(timer);
          this.onReady(slot);
          resolve();
        }
      });
      worker.on('error', (err) => {
        if (!settled) fail(err.message);
        else this.hooks.error(Object.assign(err, { group: slot.group, id: slot.id }));
      });
      worker.once('exit', (code) => {
        if (!settled) fail(`exited with code ${code} while starting`);
        this.onExit(slot, worker, code);
      });
    });
  }

  private onReady(slot: Slot): void {
    slot.state = 'running';
    // The acceptor holds its state again; the next kill saves a fresh copy.
    slot.saved = undefined;
    if (slot.group === 'learners') this.hooks.learnerReady(slot.id, slot.control!);
  }

  private onEvent(slot: Slot, event: Exclude<WorkerEvent, { type: 'ready' }>): void {
    switch (event.type) {
      case 'leader':
        if (slot.group === 'proposers') this.hooks.leader(slot.id, event.leading, event.ballot);
        break;
      case 'log':
        this.log(event.line);
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
    if (reason === 'crashed' && this.handsOver(slot)) this.loseState(slot);
    this.hooks.exit({ group: slot.group, id: slot.id, code, reason });
  }

  // ------------------------------------------------------------------ acceptors' state across lives

  /** Where a durable acceptor keeps its state, `<dataDir>/acceptor-<i>`; undefined for every other worker. */
  private store(slot: Slot): WorkerInit['durable'] {
    const durable = this.config.durable;
    return slot.group === 'acceptors' && durable ? { dir: joinPath(durable.dataDir, `acceptor-${slot.id}`), sync: durable.sync } : undefined;
  }

  /** An in-memory acceptor: its state survives a `kill` only by being handed to the next worker. */
  private handsOver(slot: Slot): boolean {
    return slot.group === 'acceptors' && !this.config.durable;
  }

  /** Freeze the acceptor and keep its state for `restart`; if that fails, the state is lost. */
  private async saveState(slot: Slot): Promise<void> {
    try {
      slot.saved = await withDeadline(slot, slot.control!.freeze(), 5000, 'freeze');
    } catch (e) {
      this.loseState(slot);
      this.hooks.error(new ClusterError('ERR_PAXOS_ACCEPTOR_STATE_LOST', `acceptors/${slot.id}: could not save state on kill: ${(e as Error).message}`));
    }
  }

  private loseState(slot: Slot): void {
    slot.saved = undefined;
    slot.lost = true;
  }

  /** A worker terminated before it closed its store leaves its directory lock behind; release it once the worker is gone. */
  private async releaseLock(slot: Slot): Promise<void> {
    const store = this.store(slot);
    if (store) await releaseDataDirLock(store.dir);
  }
}
