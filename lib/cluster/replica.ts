/**
 * `cluster.replicate(machine)`: an application state machine kept by one learner's stream, with
 * snapshots (protocol option `stateSnapshots`). The replica applies every learned value in order;
 * every `snapshotEvery` values it asks its learner to mark a point, snapshots the machine once it
 * has applied everything below that point, and hands the bytes to the learner, which keeps the
 * newest state (on disk too, with a data directory), reports it so trimming never outruns it, and
 * serves it to peers. When the stream reports that values it needs are gone (the learner
 * restarted after the log was trimmed past it and restored a peer's state, or its own from disk),
 * the replica restores the machine from the learner's state and continues from there.
 */
import type { Remote } from 'comlink';
import type { WorkerControl } from './worker-protocol.js';
import type { LearnedValue } from './learned.js';
import { InvalidArgumentError, NotHostedError, TrimmedError } from './errors.js';
import { ConfigurationError } from '../protocol/options.js';

/** @internal The learner and snapshot interval `replicate(machine, options)` runs with, checked. */
export function checkReplicateOptions(options: ReplicateOptions, stateSnapshots: boolean, hosted: readonly number[]): { learner: number; every: number } {
  if (!stateSnapshots) throw new ConfigurationError('replicate() needs the stateSnapshots option');
  const learner = options.learner ?? hosted[0];
  if (learner === undefined) throw new NotHostedError('learners', 0);
  const every = options.snapshotEvery ?? 10_000;
  if (!Number.isSafeInteger(every) || every < 1) throw new InvalidArgumentError(`snapshotEvery must be a positive integer, got ${String(every)}`);
  if (!hosted.includes(learner)) throw new NotHostedError('learners', learner);
  return { learner, every };
}

/** What `replicate` keeps: apply values in order, and turn the state into bytes and back. */
export interface StateMachine<T> {
  /** Apply the value at `position` (every value below it has been applied, once). */
  apply(value: T, position: number): void | Promise<void>;
  /** The state after every value applied so far, as bytes. */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replace the state by one `snapshot` made (here or on another replica): it holds every value below `position`. */
  restore(state: Uint8Array, position: number): void | Promise<void>;
}

export interface ReplicateOptions {
  /** Which learner to follow. Default: the lowest hosted learner. */
  learner?: number;
  /**
   * Values between snapshots, at least. Default 10,000. (A snapshot is taken where the learner
   * stood when the replica asked, which may be further on when the replica lags.)
   */
  snapshotEvery?: number;
  /** Stops the replica (its `done` resolves). */
  signal?: AbortSignal;
}

/** @internal What a replica needs of its cluster. */
export interface ReplicaContext<T> {
  /** A stream of the learner's values from `from`. */
  open(from: number, signal: AbortSignal): AsyncIterable<LearnedValue<T>>;
  /** The learner's worker, if it runs. */
  control(): Remote<WorkerControl> | undefined;
}

/** A running replica: `done` settles when it stops (resolves) or fails (rejects). */
export class Replica<T> {
  /** The next position to apply: the machine holds every value below it. */
  position = 0;
  readonly counters = { applied: 0, snapshots: 0, restores: 0 };
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  /** The point the learner marked for the next snapshot. */
  private mark: { instance: number; position: number } | undefined;
  private lastMarkAt = 0;
  /** `counters.applied` when we last restored: a second restore with nothing applied since is a loop. */
  private appliedAtRestore = -1;

  /** @internal */
  constructor(readonly learner: number, private readonly machine: StateMachine<T>, private readonly every: number, private readonly ctx: ReplicaContext<T>, signal?: AbortSignal) {
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    this.done = this.run();
  }

  /** Stop following (the machine keeps its state). */
  stop(): void {
    this.abort.abort(new Error('replica stopped'));
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const v of this.ctx.open(this.position, this.abort.signal)) {
          if (v.position < this.position) continue;
          await this.machine.apply(v.value, v.position);
          this.position = v.position + 1;
          this.counters.applied++;
          await this.maybeSnapshot();
        }
        return; // the cluster stopped
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (!(e instanceof TrimmedError)) throw e;
        // A state that does not move us on (the values after it are gone too) cannot help twice.
        const before = this.position;
        if (!(await this.restore()) || (this.position === before && this.counters.applied === this.appliedAtRestore)) throw e;
        this.appliedAtRestore = this.counters.applied;
      }
    }
  }

  /** Mark a point every `every` values, and snapshot once the machine reached it. */
  private async maybeSnapshot(): Promise<void> {
    if (!this.mark && this.position - this.lastMarkAt >= this.every) {
      this.lastMarkAt = this.position;
      this.mark = await this.ctx.control()?.markState(this.learner).catch(() => undefined);
    }
    if (!this.mark || this.position < this.mark.position) return;
    const mark = this.mark;
    this.mark = undefined;
    if (this.position > mark.position) return; // (passed it while marking: the next one)
    const state = await this.machine.snapshot();
    if (await this.ctx.control()?.stateTaken(this.learner, mark.instance, state).catch(() => false)) this.counters.snapshots++;
  }

  /** The values we need are gone: restore the learner's state if it covers them. */
  private async restore(): Promise<boolean> {
    const held = await this.ctx.control()?.heldState(this.learner).catch(() => undefined);
    if (!held || held.position < this.position) return false;
    await this.machine.restore(held.state, held.position);
    this.position = held.position;
    this.lastMarkAt = held.position;
    this.mark = undefined;
    this.counters.restores++;
    return true;
  }
}
