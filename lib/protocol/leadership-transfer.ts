/**
 * A leader handing over to another proposer (etcd raft's leadership transfer, TimeoutNow):
 *
 * 1. The leader stops admitting new values and read barriers (clients ask again and find the
 *    next leader), proposes what it had queued already, and waits until every instance it
 *    proposed is delivered here and the target reports (in its heartbeats) having delivered as
 *    far: the target is up to date.
 * 2. It sends `takeover` to the target, which starts phase 1 at once, above every ballot it has
 *    seen, without waiting out the leader timeout. Its phase 1 finds everything accepted, so the
 *    order has no gap; the old leader steps down when it sees the higher ballot.
 * 3. If the target has not taken over by the deadline (it is down, or cut off), the leader goes
 *    on leading and admitting values: a transfer never leaves the cluster without a leader.
 *
 * Safety never depends on any of this: ballots and quorums order whoever leads.
 */
import type { ResolvedOptions } from './options.js';

export type TransferStep = 'wait' | 'send' | 'abort';

export class LeadershipTransfer {
  private target: number | undefined;
  private deadline = 0;
  private sentAt: number | undefined;

  constructor(private readonly options: ResolvedOptions) {}

  /** The proposer we hand over to, while a transfer runs. */
  get to(): number | undefined {
    return this.target;
  }

  /** Begin (or retarget) a transfer; it gives up after two leader timeouts. */
  start(to: number, now: number): void {
    this.target = to;
    this.deadline = now + 2 * this.options.leaderTimeoutMs;
    this.sentAt = undefined;
  }

  /**
   * What to do on a tick: `send` the takeover once we are drained and the target caught up
   * (again every `retransmitMs`, in case it was lost), `abort` at the deadline, else `wait`.
   */
  step(now: number, drained: boolean, targetCaughtUp: boolean): TransferStep {
    if (this.target === undefined) return 'wait';
    if (now >= this.deadline) {
      this.end();
      return 'abort';
    }
    if (!drained || !targetCaughtUp) return 'wait';
    if (this.sentAt !== undefined && now - this.sentAt < this.options.retransmitMs) return 'wait';
    this.sentAt = now;
    return 'send';
  }

  end(): void {
    this.target = undefined;
    this.sentAt = undefined;
  }
}
