/**
 * The workers of one cluster: starting each one (a fresh incarnation every time), watching it
 * until it is ready, killing, restarting and stopping it, and keeping acceptors' state across
 * those lives — on disk in their data directories (whose locks a terminated worker leaves
 * behind), or, for in-memory acceptors, handed over from `kill` to `restart`. A worker hosts one
 * role instance, or (placement `replica`) every role instance with one id; the API addresses
 * members, and a member's worker is what starts and stops.
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
import type { HostedRole, SubmitReply, WorkerControl, WorkerEvent, WorkerInit } from './worker-protocol.js';
import {
  AcceptorStateLostError, ClusterError, MemberStateError, NotHostedError, UnknownMemberError, WorkerExitedError, WorkerStartError,
} from './errors.js';

const WORKER_URL = new URL('./worker-main.js', import.meta.url);

/**
 * The process's Node flags, for the workers too, except `--input-type`: it only applies to code
 * given with `-e`/`--print`, and a worker refuses to start with it (an app started with
 * `node --input-type=module -e ...` could otherwise not start a cluster).
 */
const WORKER_EXEC_ARGV = process.execArgv.filter((arg, i, all) => !arg.startsWith('--input-type') && all[i - 1] !== '--input-type');

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
  /** The name of the worker that hosts it. */
  readonly worker: string;
}

/** @internal What the supervisor reports to its cluster. */
export interface SupervisorHooks {
  /** A learner worker is ready for `learned()` subscriptions. */
  learnerReady(id: number, control: Remote<WorkerControl>): void;
  /** A hosted proposer started or stopped leading. */
  leader(proposer: number, leading: boolean, ballot: Ballot): void;
  /** Per-host processes: the leader a worker hears in heartbeats (undefined: none, or the worker is gone). */
  heard(worker: string, proposer: number | undefined, ballot: Ballot | undefined): void;
  /** A client worker answered submissions. */
  reply(client: number, reply: SubmitReply): void;
  /** A worker is gone; its ports are closed already. */
  exit(exit: WorkerExit): void;
  /** A worker threw after it started, or an acceptor's state could not be saved. */
  error(error: Error): void;
}

/** @internal The resolved options a worker is started with. */
export type WorkerSettings = Omit<ResolvedClusterOptions<unknown>, 'codec' | 'maxOutstanding'>;

/** One role instance, as the API addresses it. */
interface MemberSlot {
  readonly group: Group;
  readonly id: number;
  /** The worker that hosts it. */
  readonly worker: WorkerSlot;
  /** In-memory acceptors: the state `kill` saved; `lost` once an acceptor crashed without saving. */
  saved?: AcceptorState;
  lost?: boolean;
}

/** One worker thread and the members it hosts. */
interface WorkerSlot {
  /** For logs and errors: `learners/1`, or `replica 1`. */
  readonly name: string;
  readonly members: MemberSlot[];
  state: 'down' | 'starting' | 'running';
  worker?: Worker;
  control?: Remote<WorkerControl>;
  controlPort?: MessagePort;
  submitPort?: MessagePort;
  exited?: Promise<number>;
  exitReason?: ExitReason;
}

/** Race a control call against the worker's exit and a timeout (the timer is always cleared). */
function withDeadline<R>(member: MemberSlot, call: Promise<R>, ms: number, what: string): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const exited = member.worker.exited;
  return Promise.race([
    call,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ClusterError('ERR_PAXOS_TIMEOUT', `${member.group}/${member.id}: ${what} timed out after ${ms} ms`)), ms); }),
    ...(exited ? [exited.then((): never => { throw new WorkerExitedError(member.group, member.id); })] : []),
  ]).finally(() => clearTimeout(timer));
}

const GROUP_ORDER = ['acceptors', 'learners', 'proposers', 'clients'] as const;

/** @internal */
export class Supervisor {
  /** Every worker, in start order. */
  private readonly workers: WorkerSlot[] = [];
  /** Every member, by group and id (`submitPort` is asked once per submitted value). */
  private readonly byGroup: Record<Group, MemberSlot[]> = { acceptors: [], learners: [], proposers: [], clients: [] };
  /** The bus faults every worker starts with: those of `Cluster.start`, then the last `setFaults`. */
  private faults: FaultSettings | undefined;

  constructor(private readonly clusterId: string, private readonly config: WorkerSettings, private readonly hooks: SupervisorHooks) {
    this.faults = config.faults;
    const replicas = new Map<number, WorkerSlot>();
    for (const group of GROUP_ORDER) {
      for (const id of config.hosted[group]) {
        let worker = config.workers === 'replica' ? replicas.get(id) : undefined;
        if (!worker) {
          worker = { name: config.workers === 'replica' ? `replica ${id}` : `${group}/${id}`, members: [], state: 'down' };
          this.workers.push(worker);
          if (config.workers === 'replica') replicas.set(id, worker);
        }
        const member: MemberSlot = { group, id, worker };
        worker.members.push(member);
        this.byGroup[group][id] = member;
      }
    }
  }

  /** Start every worker; resolves once all are running, rejects with the first `WorkerStartError`. */
  async startAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.spawn(w)));
  }

  /** The control API of a running member's worker; undefined while it is down or starting. Throws `RangeError` for no such member. */
  runningControl(group: Group, id: number): Remote<WorkerControl> | undefined {
    const { worker } = this.member(group, id);
    return worker.state === 'running' ? worker.control : undefined;
  }

  /** The submission port of a running client's worker; undefined while it is down or starting. */
  submitPort(client: number): MessagePort | undefined {
    const { worker } = this.member('clients', client);
    return worker.state === 'running' ? worker.submitPort : undefined;
  }

  /**
   * Make the same control call for every member (2 s each). `fallback` answers for a member whose
   * worker is down, or that fails, times out or exits meanwhile.
   */
  askAll<R>(what: string, call: (control: Remote<WorkerControl>, member: Member) => Promise<R>, fallback: (member: Member) => R): Promise<R[]> {
    const members = this.workers.flatMap((w) => w.members);
    return Promise.all(members.map(async (m) => {
      const member = (): Member => ({ group: m.group, id: m.id, running: m.worker.state === 'running', worker: m.worker.name });
      if (m.worker.state !== 'running' || !m.worker.control) return fallback(member());
      try {
        return await withDeadline(m, call(m.worker.control, member()), 2000, what);
      } catch {
        return fallback(member());
      }
    }));
  }

  /** Change the faults of every running worker and of those started later; false if some transport has no fault injection. */
  async setFaults(settings: FaultSettings): Promise<boolean> {
    this.faults = settings;
    // A worker that exits meanwhile gets the settings when it restarts.
    const results = await Promise.all(this.workers.map(async (w) => {
      if (w.state !== 'running' || !w.control) return true;
      try {
        return await withDeadline(w.members[0]!, w.control.setFaults(settings), 2000, 'setFaults');
      } catch {
        return true;
      }
    }));
    return !results.includes(false);
  }

  /** Crash a running member's worker; an in-memory acceptor first hands its state over for `restart`. */
  async kill(group: Group, id: number): Promise<void> {
    const { worker } = this.member(group, id);
    if (worker.state !== 'running') throw new MemberStateError(group, id, 'is not running');
    worker.exitReason = 'killed';
    const acceptor = worker.members.find((m) => this.handsOver(m));
    if (acceptor) await this.saveState(acceptor);
    this.log(`kill ${worker.name}`);
    await this.terminate(worker);
  }

  /** Start a member's worker that is down again; refuses an in-memory acceptor whose state was lost. */
  async restart(group: Group, id: number): Promise<void> {
    const { worker } = this.member(group, id);
    if (worker.state !== 'down') throw new MemberStateError(group, id, 'is already running');
    for (const m of worker.members) if (this.handsOver(m) && (m.lost || !m.saved)) throw new AcceptorStateLostError(m.id);
    // A durable acceptor's terminated worker could not release its directory lock; its state is on disk.
    await this.releaseLocks(worker);
    this.log(`restart ${worker.name}`);
    await this.spawn(worker);
  }

  /** Stop every worker that is up, and release durable acceptors' directory locks. */
  async stopAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.stop(w)));
  }

  /** The members this process hosts, by group and id. */
  private member(group: Group, id: number): MemberSlot {
    const member = Number.isInteger(id) ? this.byGroup[group][id] : undefined;
    if (member) return member;
    if (Number.isInteger(id) && id >= 0 && id < this.config.topology[group]) throw new NotHostedError(group, id);
    throw new UnknownMemberError(group, id, this.config.topology[group]);
  }

  private log(line: string): void {
    this.config.log?.(line);
  }

  /** Ask a worker to stop (2 s), give it 1 s to exit on its own, then terminate it. */
  private async stop(w: WorkerSlot): Promise<void> {
    if (w.state === 'down' || !w.worker) return;
    w.exitReason = 'stopped';
    let graceMs = 0;
    if (w.state === 'running' && w.control) {
      try {
        await withDeadline(w.members[0]!, w.control.stop(), 2000, 'stop');
        graceMs = 1000;
      } catch {
        // terminate below regardless
      }
    }
    await this.terminate(w, graceMs);
    await this.releaseLocks(w);
  }

  /** Terminate a worker, after letting it exit on its own for up to `graceMs`. */
  private async terminate(w: WorkerSlot, graceMs = 0): Promise<void> {
    const worker = w.worker;
    const exited = w.exited;
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

  private spawn(w: WorkerSlot): Promise<void> {
    const control = new MessageChannel();
    const client = w.members.find((m) => m.group === 'clients');
    const submit = client ? new MessageChannel() : undefined;
    const init = this.workerInit(w, control.port2, submit?.port2);
    const worker = new Worker(WORKER_URL, { workerData: init, transferList: submit ? [control.port2, submit.port2] : [control.port2], execArgv: WORKER_EXEC_ARGV, ...(this.config.workerResourceLimits ? { resourceLimits: this.config.workerResourceLimits } : {}) });
    w.worker = worker;
    w.state = 'starting';
    w.exitReason = undefined;
    w.controlPort = control.port1;
    w.control = wrap<WorkerControl>(portEndpoint(control.port1));
    w.submitPort = submit?.port1;
    if (client) submit!.port1.on('message', (reply: SubmitReply) => this.hooks.reply(client.id, reply));
    w.exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    return this.watch(w, worker);
  }

  private workerInit(w: WorkerSlot, control: MessagePort, submit: MessagePort | undefined): WorkerInit {
    return {
      roles: w.members.map((m) => ({
        group: m.group, id: m.id, incarnation: randomInt(0, INCARNATION_SPACE), durable: this.store(m), restored: m.saved, stateFile: this.stateFile(m),
      })),
      name: w.name,
      clusterId: this.clusterId,
      topology: this.config.topology,
      protocol: this.config.protocol,
      tickMs: this.config.tickMs,
      replayKeepValues: this.config.replayKeepValues,
      transport: this.config.transport,
      faults: this.faults,
      debug: this.config.log !== undefined,
      watchLeader: !this.config.hostsEverything && w.members.some((m) => m.group === 'proposers' || m.group === 'learners'),
      control,
      submit,
    };
  }

  /** Resolve once the worker reports ready; reject with `WorkerStartError` if it throws, exits or stays silent first. */
  private watch(w: WorkerSlot, worker: Worker): Promise<void> {
    const first = w.members[0]!;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(`no ready signal within ${this.config.startTimeoutMs} ms`), this.config.startTimeoutMs);
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        reject(new WorkerStartError(first.group, first.id, w.members.length > 1 ? `${w.name}: ${reason}` : reason));
      };
      worker.on('message', (event: WorkerEvent) => {
        if (event.type !== 'ready') this.onEvent(w, event);
        else if (!settled) {
          settled = true;
          clearTimeout(timer);
          this.onReady(w);
          resolve();
        }
      });
      worker.on('error', (err) => {
        if (!settled) fail(err.message);
        else this.hooks.error(Object.assign(err, { group: first.group, id: first.id }));
      });
      worker.once('exit', (code) => {
        if (!settled) fail(`exited with code ${code} while starting`);
        this.onExit(w, worker, code);
      });
    });
  }

  private onReady(w: WorkerSlot): void {
    w.state = 'running';
    if (this.config.unref) {
      // Only once it runs (the start is awaited), and after every listener is attached: a port
      // re-refs itself when a first message listener is added.
      w.worker?.unref();
      w.controlPort?.unref();
      w.submitPort?.unref();
    }
    for (const m of w.members) {
      // The acceptor holds its state again; the next kill saves a fresh copy.
      m.saved = undefined;
      if (m.group === 'learners') this.hooks.learnerReady(m.id, w.control!);
    }
  }

  private onEvent(w: WorkerSlot, event: Exclude<WorkerEvent, { type: 'ready' }>): void {
    switch (event.type) {
      case 'leader':
        this.hooks.leader(event.proposer, event.leading, event.ballot);
        break;
      case 'leader-heard':
        this.hooks.heard(w.name, event.proposer, event.ballot);
        break;
      case 'log':
        this.log(event.line);
        break;
    }
  }

  private onExit(w: WorkerSlot, worker: Worker, code: number): void {
    if (w.worker !== worker) return;
    const reason: ExitReason = w.exitReason ?? 'crashed';
    w.state = 'down';
    w.worker = undefined;
    w.control = undefined;
    w.controlPort?.close();
    w.controlPort = undefined;
    w.submitPort?.close();
    w.submitPort = undefined;
    this.hooks.heard(w.name, undefined, undefined);
    for (const m of w.members) {
      if (reason === 'crashed' && this.handsOver(m)) this.loseState(m);
      this.hooks.exit({ group: m.group, id: m.id, code, reason });
    }
  }

  // ------------------------------------------------------------------ acceptors' state across lives

  /** Where a durable acceptor keeps its state, `<dataDir>/acceptor-<i>`; undefined for every other member. */
  private store(m: MemberSlot): HostedRole['durable'] {
    const durable = this.config.durable;
    return m.group === 'acceptors' && durable ? { dir: joinPath(durable.dataDir, `acceptor-${m.id}`), sync: durable.sync } : undefined;
  }

  /** Where a learner keeps its application state (`stateSnapshots`), `<dataDir>/learner-<i>.state`. */
  private stateFile(m: MemberSlot): string | undefined {
    const durable = this.config.durable;
    return m.group === 'learners' && durable && this.config.protocol.stateSnapshots ? joinPath(durable.dataDir, `learner-${m.id}.state`) : undefined;
  }

  /** An in-memory acceptor: its state survives a `kill` only by being handed to the next worker. */
  private handsOver(m: MemberSlot): boolean {
    return m.group === 'acceptors' && !this.config.durable;
  }

  /** Freeze the acceptor's worker and keep its state for `restart`; if that fails, the state is lost. */
  private async saveState(m: MemberSlot): Promise<void> {
    try {
      m.saved = await withDeadline(m, m.worker.control!.freeze(), 5000, 'freeze');
    } catch (e) {
      this.loseState(m);
      this.hooks.error(new ClusterError('ERR_PAXOS_ACCEPTOR_STATE_LOST', `acceptors/${m.id}: could not save state on kill: ${(e as Error).message}`));
    }
  }

  private loseState(m: MemberSlot): void {
    m.saved = undefined;
    m.lost = true;
  }

  /** A worker terminated before it closed its store leaves its directory lock behind; release it once the worker is gone. */
  private async releaseLocks(w: WorkerSlot): Promise<void> {
    for (const m of w.members) {
      const store = this.store(m);
      if (store) await releaseDataDirLock(store.dir);
    }
  }
}
