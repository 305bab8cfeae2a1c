/**
 * Which proposer the cluster follows, as far as the main thread heard. Proposers report when they
 * start or stop leading; for a while two can claim to lead (an old leader has not yet noticed a
 * newer ballot), and the one with the highest ballot is the one the acceptors follow.
 */
import { type Ballot, compareBallots, formatBallot } from '../protocol/ballot.js';

/** @internal */
export class LeaderTracker {
  /** By proposer id: the ballot it claims to lead with; undefined while it does not lead or is down. */
  private readonly claims: (Ballot | undefined)[] = [];
  private current: number | undefined;

  /** `changed` hears every change of leader, with the new leader's ballot as `round.proposer.incarnation`. */
  constructor(private readonly changed: (proposer: number | undefined, ballot: string | undefined) => void) {}

  /** The running proposer that claims to lead with the highest ballot, if any. */
  get leader(): number | undefined {
    return this.current;
  }

  /** A proposer started leading with `ballot`, or stopped leading. */
  claim(proposer: number, leading: boolean, ballot: Ballot): void {
    this.claims[proposer] = leading ? ballot : undefined;
    this.update();
  }

  /** A proposer's worker exited: whatever it claimed is void. */
  drop(proposer: number): void {
    if (this.claims[proposer] === undefined) return;
    this.claims[proposer] = undefined;
    this.update();
  }

  private update(): void {
    let best: number | undefined;
    this.claims.forEach((ballot, proposer) => {
      if (ballot && (best === undefined || compareBallots(ballot, this.claims[best]!) > 0)) best = proposer;
    });
    if (best === this.current) return;
    this.current = best;
    this.changed(best, best === undefined ? undefined : formatBallot(this.claims[best]!));
  }
}
