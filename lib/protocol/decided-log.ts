/**
 * The decided log a proposer's learner retains (compare etcd raft's log.go): every delivered
 * batch from the trim point on, so a leader can serve catch-up and a successor can re-propose
 * what it already knows, plus delivery snapshots at regular instances (checkpoints), so the log
 * can be cut at one and a latecomer below the cut can continue from that snapshot instead.
 *
 * The log holds delivered instances only; the learner keeps what is decided above a gap.
 */
import type { Batch, DeliverySnapshot } from './messages.js';
import type { ResolvedOptions } from './options.js';

export class DecidedLog {
  /** Decided batches of instances `trimmedBelow` and up. */
  private readonly batches = new Map<number, Batch>();
  /** Delivery snapshots, oldest first; while trimmed, the first is the trim point. */
  private checkpoints: DeliverySnapshot[] = [];
  private trimmedBelow = 0;
  /** Where each epoch of the retained log begins, oldest first (memberships change rarely). */
  private epochStarts: { instance: number; epoch: number }[];
  /** Without learners nobody trims, so checkpoints would only cost memory. */
  private readonly keepsCheckpoints: boolean;
  /** Half the trim margin, so a trim lands at most that far below the instance it aims at. */
  private readonly checkpointEvery: number;

  /** `start`: where delivery stands when the log begins (the first checkpoint). */
  constructor(options: ResolvedOptions, start: DeliverySnapshot) {
    this.keepsCheckpoints = options.trimAfterLearners > 0;
    this.checkpointEvery = Math.max(1, Math.floor(options.trimKeepInstances / 2));
    if (this.keepsCheckpoints) this.checkpoints.push(start);
    this.epochStarts = [{ instance: start.instance, epoch: start.membership?.epoch ?? 0 }];
  }

  /** The epoch a retained instance was decided in. */
  epochAt(instance: number): number {
    let epoch = this.epochStarts[0]!.epoch;
    for (const e of this.epochStarts) if (e.instance <= instance) epoch = e.epoch;
    return epoch;
  }

  /** The decided batch of a retained instance. */
  decidedBatch(instance: number): Batch | undefined {
    return this.batches.get(instance);
  }

  /** The newest checkpoint at or below `instance`. */
  checkpointAtOrBelow(instance: number): DeliverySnapshot | undefined {
    let found: DeliverySnapshot | undefined;
    for (const c of this.checkpoints) if (c.instance <= instance) found = c;
    return found;
  }

  /** The snapshot the log starts from once trimmed: catch-up below it is answered with it. */
  get trimPoint(): DeliverySnapshot | undefined {
    return this.trimmedBelow > 0 ? this.checkpoints[0] : undefined;
  }

  /** Retain the batch just delivered at `instance`, decided in `epoch`. */
  append(instance: number, batch: Batch, epoch: number): void {
    this.batches.set(instance, batch);
    if (this.epochStarts[this.epochStarts.length - 1]!.epoch !== epoch) this.epochStarts.push({ instance, epoch });
  }

  /** Whether delivery, now standing at `nextToDeliver`, has reached the next checkpoint. */
  checkpointDue(nextToDeliver: number): boolean {
    return this.checkpoints.length > 0 && nextToDeliver % this.checkpointEvery === 0;
  }

  addCheckpoint(snapshot: DeliverySnapshot): void {
    this.checkpoints.push(snapshot);
  }

  /** Forget the batches below `snapshot`, which becomes the trim point (an older one is ignored). */
  trimTo(snapshot: DeliverySnapshot): void {
    if (snapshot.instance <= this.trimmedBelow) return;
    for (let i = this.trimmedBelow; i < snapshot.instance; i++) this.batches.delete(i);
    this.trimmedBelow = snapshot.instance;
    this.checkpoints = this.checkpoints.filter((c) => c.instance > snapshot.instance);
    this.checkpoints.unshift(snapshot);
    while (this.epochStarts.length > 1 && this.epochStarts[1]!.instance <= snapshot.instance) this.epochStarts.shift();
  }

  /** Delivery jumped to `snapshot` (trimmed elsewhere): nothing retained lies above it yet. */
  restartAt(snapshot: DeliverySnapshot): void {
    this.batches.clear();
    this.trimmedBelow = snapshot.instance;
    if (this.keepsCheckpoints) this.checkpoints = [snapshot];
    this.epochStarts = [{ instance: snapshot.instance, epoch: snapshot.membership?.epoch ?? 0 }];
  }
}
