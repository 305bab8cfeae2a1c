/**
 * What a learner knows of the instances it has not delivered yet: the proposals (2a) and votes
 * (2b) it heard, and the decisions it reached or was told. A vote counts only among the
 * acceptors of its ballot's epoch, and a decision only in the epoch of its instance (see
 * membership.ts): the learner knows the current epoch (the one its delivery point is in), so
 * votes of older epochs are void, and votes of newer ones wait until it gets there.
 */
import { type Ballot, sameBallot } from './ballot.js';
import type { Batch } from './messages.js';
import { type Membership, countMembers, epochOf } from './membership.js';

interface Vote {
  ballot: Ballot;
  /** Bit i set: acceptor i voted. */
  mask: number;
}

interface PendingInstance {
  proposals: { ballot: Ballot; batch: Batch }[];
  votes: Vote[];
  decided?: Batch;
  /** The epoch `decided` was decided in: it counts only if that is this instance's epoch. */
  decidedEpoch: number;
}

export class PendingDecisions {
  private readonly pending = new Map<number, PendingInstance>();
  /** One past the highest instance decided here: a later instance decided while the head is not is a sign of loss. */
  decidedEnd = 0;

  constructor(private current: Membership, private readonly metrics: { instancesDecided: number }) {}

  get membership(): Membership {
    return this.current;
  }

  /** Decided in the current epoch (an instance the learner may deliver once everything below is). */
  isDecided(instance: number): boolean {
    const p = this.pending.get(instance);
    return p?.decided !== undefined && p.decidedEpoch === this.current.epoch;
  }

  /** The batch decided at `instance` in the current epoch. */
  decidedBatch(instance: number): Batch | undefined {
    return this.isDecided(instance) ? this.pending.get(instance)!.decided : undefined;
  }

  proposal(instance: number, ballot: Ballot, batch: Batch): void {
    const epoch = epochOf(ballot);
    const p = this.relevant(instance, epoch);
    if (!p) return;
    if (!p.proposals.some((x) => sameBallot(x.ballot, ballot))) p.proposals.push({ ballot, batch });
    if (epoch === this.current.epoch) this.tryDecide(instance, p);
  }

  vote(instance: number, ballot: Ballot, acceptor: number): void {
    const epoch = epochOf(ballot);
    const p = this.relevant(instance, epoch);
    if (!p || acceptor >= 31) return;
    let vote = p.votes.find((v) => sameBallot(v.ballot, ballot));
    if (!vote) {
      vote = { ballot, mask: 0 };
      p.votes.push(vote);
    }
    vote.mask |= 1 << acceptor;
    if (epoch === this.current.epoch) this.tryDecide(instance, p);
  }

  /** Someone who decided it says so (a catch-up answer). */
  decision(instance: number, batch: Batch, epoch: number): void {
    const p = this.relevant(instance, epoch);
    if (p) this.decide(instance, p, batch, epoch);
  }

  /** The current epoch ended at an instance below every pending one: void what was decided in it, count again. */
  enterEpoch(next: Membership): void {
    this.current = next;
    for (const [instance, p] of this.pending) {
      if (p.decided !== undefined && p.decidedEpoch < next.epoch) p.decided = undefined;
      p.proposals = p.proposals.filter((x) => epochOf(x.ballot) >= next.epoch);
      p.votes = p.votes.filter((v) => epochOf(v.ballot) >= next.epoch);
      if (p.decided === undefined) this.tryDecide(instance, p);
    }
  }

  /** Delivery jumped to `instance` in `membership`'s epoch: forget everything below. */
  restartAt(instance: number, membership: Membership): void {
    for (const i of this.pending.keys()) if (i < instance) this.pending.delete(i);
    if (membership.epoch !== this.current.epoch) this.enterEpoch(membership);
  }

  /** `instance` was delivered: nothing of it is pending any more. */
  remove(instance: number): void {
    this.pending.delete(instance);
  }

  /** A phase-2 quorum of the current epoch voted for one ballot at `instance`, but its 2a is missing. */
  chosenWithoutValue(instance: number): boolean {
    const p = this.pending.get(instance);
    return !!p && p.decided === undefined &&
      p.votes.some((v) => this.isQuorum(v) && !p.proposals.some((x) => sameBallot(x.ballot, v.ballot)));
  }

  /** The pending record of `instance` if a message of `epoch` can still matter to it. */
  private relevant(instance: number, epoch: number): PendingInstance | undefined {
    if (epoch < this.current.epoch) return undefined; // void: the instance is past that epoch's stop-sign
    let p = this.pending.get(instance);
    if (p?.decided !== undefined && p.decidedEpoch >= epoch) return undefined;
    if (!p) {
      p = { proposals: [], votes: [], decidedEpoch: -1 };
      this.pending.set(instance, p);
    }
    return p;
  }

  private isQuorum(v: Vote): boolean {
    return epochOf(v.ballot) === this.current.epoch && countMembers(this.current, v.mask) >= this.current.phase2Quorum;
  }

  /** A value is chosen once a phase-2 quorum of members accepted the same ballot; its value is that ballot's. */
  private tryDecide(instance: number, p: PendingInstance): void {
    for (const vote of p.votes) {
      if (!this.isQuorum(vote)) continue;
      const proposal = p.proposals.find((x) => sameBallot(x.ballot, vote.ballot));
      if (proposal) {
        this.decide(instance, p, proposal.batch, this.current.epoch);
        return;
      }
    }
  }

  private decide(instance: number, p: PendingInstance, batch: Batch, epoch: number): void {
    p.decided = batch;
    p.decidedEpoch = epoch;
    if (instance >= this.decidedEnd) this.decidedEnd = instance + 1;
    // Only a later epoch's messages can still overrule this (if the instance turns out to lie past its stop-sign).
    p.proposals = p.proposals.filter((x) => epochOf(x.ballot) > epoch);
    p.votes = p.votes.filter((v) => epochOf(v.ballot) > epoch);
    this.metrics.instancesDecided++;
  }
}
