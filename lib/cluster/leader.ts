/**
 * Which proposer the cluster follows, as far as the main thread heard. Hosted proposers report
 * when they start or stop leading; with `host`, workers also report the leader they hear in
 * heartbeats (it may run in another process). For a while two can claim to lead (an old leader
 * has not yet noticed a newer ballot), and the one with the highest ballot is the one the
 * acceptors follow.
 */
import { type Ballot, compareBallots, formatBallot } from '../protocol/ballot.js';

interface Claim {
  readonly proposer: number;
  readonly ballot: Ballot;
}

/** @internal */
export class LeaderTracker {
  /** By hosted proposer id: the ballot it claims to lead with (absent while it does not lead or is down). */
  private readonly claims = new Map<number, Ballot>();
  /** By worker name: the leader it hears in heartbeats (per-host processes). */
  private readonly heard = new Map<string, Claim>();
  private current: Claim | undefined;

  /** `changed` hears every change of leader, with the new leader's ballot as `round.proposer.incarnation`. */
  constructor(private readonly changed: (proposer: number | undefined, ballot: string | undefined) => void) {}

  /** The proposer that claims to lead with the highest ballot, if any. */
  get leader(): number | undefined {
    return this.current?.proposer;
  }

  /** A hosted proposer started leading with `ballot`, or stopped leading. */
  claim(proposer: number, leading: boolean, ballot: Ballot): void {
    if (leading) this.claims.set(proposer, ballot);
    else this.claims.delete(proposer);
    this.update();
  }

  /** A hosted proposer's worker exited: whatever it claimed is void. */
  drop(proposer: number): void {
    if (this.claims.delete(proposer)) this.update();
  }

  /** What `worker` hears lead now (undefined: nobody, or the worker is gone). */
  hear(worker: string, proposer: number | undefined, ballot: Ballot | undefined): void {
    if (proposer === undefined || ballot === undefined) this.heard.delete(worker);
    else this.heard.set(worker, { proposer, ballot });
    this.update();
  }

  private update(): void {
    let best: Claim | undefined;
    const consider = (claim: Claim): void => { if (!best || compareBallots(claim.ballot, best.ballot) > 0) best = claim; };
    for (const [proposer, ballot] of this.claims) consider({ proposer, ballot });
    for (const claim of this.heard.values()) consider(claim);
    const was = this.current;
    if (best?.proposer === was?.proposer) {
      this.current = best;
      return;
    }
    this.current = best;
    this.changed(best?.proposer, best === undefined ? undefined : formatBallot((best as Claim).ballot));
  }
}
