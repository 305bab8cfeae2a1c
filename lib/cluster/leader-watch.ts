/**
 * Who leads, as a worker of a per-host process hears it (`Cluster.start({ host })`): the leader
 * may run in another process, so the main thread cannot learn of it from its own proposers'
 * Ready. Proposers heartbeat every proposer and learner, saying whether they lead and still hear
 * a quorum; the newest such claim with the highest ballot, heard within the leader timeout, is the
 * leader. This only informs `ready()`, `leader` and the `leader` event; it decides nothing.
 */
import { type Ballot, compareBallots } from '../protocol/ballot.js';
import type { Message } from '../protocol/messages.js';

export class LeaderWatch {
  /** By proposer: the ballot it last claimed to lead with, and when. */
  private readonly claims = new Map<number, { readonly ballot: Ballot; readonly at: number }>();
  private reported: { readonly proposer: number; readonly ballot: Ballot } | undefined;

  /** `report` hears every change: a proposer and its ballot, or none. */
  constructor(private readonly timeoutMs: number, private readonly report: (proposer: number | undefined, ballot: Ballot | undefined) => void) {}

  /** A message a hosted member received. */
  see(message: Message, now: number): void {
    if (message.type !== 'heartbeat' || !message.leading || !message.quorum) return;
    this.claims.set(message.from, { ballot: message.ballot, at: now });
    this.check(now);
  }

  /** Let claims not renewed within the timeout lapse (called periodically). */
  check(now: number): void {
    let best: { proposer: number; ballot: Ballot } | undefined;
    for (const [proposer, { ballot, at }] of this.claims) {
      if (now - at >= this.timeoutMs) this.claims.delete(proposer);
      else if (!best || compareBallots(ballot, best.ballot) > 0) best = { proposer, ballot };
    }
    const was = this.reported;
    if (best?.proposer === was?.proposer && (best === undefined || compareBallots(best.ballot, was!.ballot) === 0)) return;
    this.reported = best;
    this.report(best?.proposer, best?.ballot);
  }
}
