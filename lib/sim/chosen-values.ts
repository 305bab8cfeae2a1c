/**
 * What the acceptors chose, as the simulator sees every vote leave: per instance and epoch, the
 * batch a phase-2 quorum of that epoch's members accepted under one ballot. Within an epoch this
 * is plain Paxos, so two different batches chosen at one instance in one epoch is a violation.
 * Across epochs an instance above a stop-sign may have been chosen in the old epoch too (void,
 * never delivered), so deliveries are compared with the batch chosen in the instance's epoch.
 *
 * The epochs are derived from the chosen batches themselves, independently of the roles: epoch
 * e + 1 starts after the first instance of epoch e whose batch chosen in e holds a reconfiguration
 * entry for e + 1, and its membership is that entry's.
 */
import { type Ballot, formatBallot } from '../protocol/ballot.js';
import type { Batch, Payload } from '../protocol/messages.js';
import { type Membership, epochOf, isMember, stopSignIn } from '../protocol/membership.js';
import { InvariantViolation, sameBatch, showBatch } from './invariants.js';

interface BallotVotes {
  batch: Batch | undefined;
  acceptors: Set<number>;
}

export interface Chosen {
  batch: Batch;
  ballot: Ballot;
  keys?: Map<string, Payload>;
}

export class ChosenValues {
  /** Per instance, per ballot: the batch proposed and the acceptors that said they accepted it. */
  private readonly ballots = new Map<number, Map<string, BallotVotes>>();
  /** Per `instance:epoch`: the batch chosen. */
  private readonly chosen = new Map<string, Chosen>();
  /** Membership of each epoch known so far, and the instance each starts at. */
  private readonly memberships: Membership[];
  private readonly starts: number[] = [0];
  /** Where the search for the current last epoch's stop-sign stands. */
  private scanFrom = 0;

  constructor(initial: Membership) {
    this.memberships = [initial];
  }

  /** The epochs found so far (for reports). */
  get epochs(): number {
    return this.memberships.length;
  }

  /** An acceptor took `batch` at (instance, ballot) into its state. */
  accepting(instance: number, ballot: Ballot, batch: Batch): void {
    const votes = this.votesAt(instance, ballot);
    if (votes.batch === undefined) votes.batch = batch;
    else if (votes.batch !== batch && !sameBatch(votes.batch, batch)) {
      throw new InvariantViolation('ballot-unique', `ballot ${formatBallot(ballot)} carries [${showBatch(votes.batch)}] and ` +
        `[${showBatch(batch)}] at instance ${instance}`);
    }
  }

  /** Acceptor `acceptor` told the others it accepted (instance, ballot). */
  vote(instance: number, ballot: Ballot, acceptor: number): void {
    const epoch = epochOf(ballot);
    const members = this.membershipOf(epoch);
    if (!members) {
      throw new InvariantViolation('epoch', `acceptor ${acceptor} voted at ballot ${formatBallot(ballot)} of epoch ${epoch}, ` +
        `but epoch ${epoch - 1}'s stop-sign is not chosen (epochs known: ${this.memberships.length})`);
    }
    if (!isMember(members, acceptor)) return; // not a vote of that epoch (the roles must not count it either)
    const votes = this.votesAt(instance, ballot);
    if (votes.acceptors.has(acceptor)) return;
    votes.acceptors.add(acceptor);
    if (votes.acceptors.size !== members.phase2Quorum) return;
    if (votes.batch === undefined) {
      throw new InvariantViolation('chosen', `acceptor ${acceptor} voted for ballot ${formatBallot(ballot)} at instance ${instance} ` +
        'without accepting any batch there');
    }
    const k = `${instance}:${epoch}`;
    const earlier = this.chosen.get(k);
    if (earlier && !sameBatch(earlier.batch, votes.batch)) {
      throw new InvariantViolation('chosen', `instance ${instance}: [${showBatch(votes.batch)}] chosen at ballot ` +
        `${formatBallot(ballot)} after [${showBatch(earlier.batch)}] was chosen at ${formatBallot(earlier.ballot)} (epoch ${epoch})`);
    }
    if (!earlier) this.chosen.set(k, { batch: votes.batch, ballot });
  }

  /** The batch chosen at `instance` in the epoch it belongs to (undefined while that is not known). */
  chosenAt(instance: number): Chosen | undefined {
    const epoch = this.epochOfInstance(instance);
    return epoch === undefined ? undefined : this.chosen.get(`${instance}:${epoch}`);
  }

  /**
   * The epoch `instance` belongs to: the last one starting at or below it, once every stop-sign
   * below it is known. Undefined if the chosen prefix does not reach it yet.
   */
  epochOfInstance(instance: number): number | undefined {
    while (this.scanFrom < instance && this.extend());
    if (this.scanFrom < instance) return undefined; // an instance below is not chosen yet: a stop-sign may hide there
    let epoch = 0;
    while (epoch + 1 < this.starts.length && this.starts[epoch + 1]! <= instance) epoch++;
    return epoch;
  }

  private membershipOf(epoch: number): Membership | undefined {
    while (this.memberships.length <= epoch && this.extend());
    return this.memberships[epoch];
  }

  /** Walk the last epoch's chosen instances for its stop-sign; true if another epoch was found. */
  private extend(): boolean {
    const last = this.memberships.length - 1;
    const members = this.memberships[last]!;
    for (;;) {
      const c = this.chosen.get(`${this.scanFrom}:${last}`);
      if (!c) return false;
      this.scanFrom++;
      const next = stopSignIn(c.batch, members);
      if (next) {
        this.memberships.push(next);
        this.starts.push(this.scanFrom);
        return true;
      }
    }
  }

  private votesAt(instance: number, ballot: Ballot): BallotVotes {
    let perBallot = this.ballots.get(instance);
    if (!perBallot) this.ballots.set(instance, (perBallot = new Map()));
    const b = `${ballot.round}:${ballot.node}`;
    let votes = perBallot.get(b);
    if (!votes) perBallot.set(b, (votes = { batch: undefined, acceptors: new Set() }));
    return votes;
  }
}
