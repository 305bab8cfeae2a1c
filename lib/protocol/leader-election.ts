/**
 * Who should lead, as one proposer sees it (compare OmniPaxos's ballot leader election, kept
 * apart from the replication it drives). A heartbeat failure detector: leadership goes to a
 * live leader, else to the highest proposer id that recently said it hears enough acceptors to
 * lead. CheckQuorum keeps a leader honest: it counts the acceptors it still hears.
 *
 * The detector only picks who campaigns; ballots keep the log safe when two proposers believe
 * they lead at once. Its one piece of ballot knowledge, the highest ballot seen, discounts the
 * claims of deposed leaders.
 */
import { type Ballot, ZERO_BALLOT, compareBallots, proposerOf } from './ballot.js';
import type { HeartbeatMessage } from './messages.js';
import { type Membership, epochOf, isMember } from './membership.js';
import type { ResolvedOptions } from './options.js';
import { type Outbox, TO_ACCEPTORS, TO_LEARNERS, TO_PROPOSERS } from './role.js';

/** What this proposer says about itself in a heartbeat. */
export interface SelfReport {
  readonly ballot: Ballot;
  readonly leading: boolean;
  /** Instances it has delivered (others' learners learn from it what exists). */
  readonly decided: number;
}

/** Whether a proposer is alive, for parts that must wait for live peers only (trimming). */
export interface ProposerLiveness {
  heardRecently(proposer: number, now: number): boolean;
}

export class LeaderElection implements ProposerLiveness {
  private highest: Ballot = ZERO_BALLOT;
  /** The highest ballot seen in our epoch (acceptors' promises are per epoch, see acceptor-state.ts). */
  private highestInEpoch: Ballot = ZERO_BALLOT;
  /** When each other proposer last showed any sign of life. */
  private readonly lastHeard: number[];
  /** When each proposer last announced (or showed, by sending 2a) that it leads. */
  private readonly lastLeading: number[];
  /** When each proposer last said (in a heartbeat) that it hears enough acceptors to lead. */
  private readonly lastCanLead: number[];
  /** When we last heard from each acceptor (any answer): CheckQuorum. */
  private readonly lastHeardAcceptor: number[];
  private startedAt: number | undefined;
  private lastTickAt: number | undefined;
  private lastHeartbeatAt = -Infinity;
  /** After being pre-empted, do not campaign before this. */
  private retryAt = -Infinity;
  /** A leader handed over to us: we lead (campaign at once, defer to nobody) until this. */
  private invitedUntil = -Infinity;

  constructor(
    private readonly id: number, private readonly options: ResolvedOptions, private readonly outbox: Outbox, private membership: Membership,
  ) {
    this.lastHeard = new Array<number>(options.proposers).fill(-Infinity);
    this.lastLeading = new Array<number>(options.proposers).fill(-Infinity);
    this.lastCanLead = new Array<number>(options.proposers).fill(-Infinity);
    this.lastHeardAcceptor = new Array<number>(options.acceptors).fill(-Infinity);
  }

  /** Our learner crossed into a new epoch: count its acceptors from now on. */
  enterEpoch(m: Membership): void {
    this.membership = m;
    this.highestInEpoch = epochOf(this.highest) === m.epoch ? this.highest : ZERO_BALLOT;
  }

  /** The highest ballot seen in our epoch: a campaign goes above it, and a rival above it deposes us. */
  get highestSeenInEpoch(): Ballot {
    return this.highestInEpoch;
  }

  /**
   * A ballot of a later epoch than ours exists: our log has not reached that epoch's start yet, so
   * we know neither its acceptors nor its quorums. We may still lead our own epoch (to recover its
   * log, up to its stop-sign), but nobody should defer to us meanwhile.
   */
  get behindEpoch(): boolean {
    return epochOf(this.highest) > this.membership.epoch;
  }

  /** The highest ballot seen anywhere (ours included). */
  get highestSeen(): Ballot {
    return this.highest;
  }

  noteBallot(b: Ballot): void {
    if (compareBallots(b, this.highest) > 0) this.highest = b;
    if (epochOf(b) === this.membership.epoch && compareBallots(b, this.highestInEpoch) > 0) this.highestInEpoch = b;
  }

  noteAcceptor(acceptor: number, now: number): void {
    if (acceptor < this.lastHeardAcceptor.length) this.lastHeardAcceptor[acceptor] = now;
  }

  onHeartbeat(m: HeartbeatMessage, now: number): void {
    this.noteAlive(m.from, now);
    this.noteBallot(m.ballot);
    if (m.quorum && m.from < this.options.proposers && m.from !== this.id) this.lastCanLead[m.from] = now;
    // A deposed leader (its ballot is below one we have seen) that has not noticed yet, or one
    // that lost its quorum, is no reason to step down or to wait.
    if (m.leading && m.quorum && compareBallots(m.ballot, this.highest) >= 0) this.noteLeading(m.from, now);
  }

  /** Another proposer's 2a: it is alive, and it leads unless its ballot is already deposed. */
  onAccept(ballot: Ballot, now: number): void {
    this.noteBallot(ballot);
    this.noteAlive(proposerOf(ballot), now);
    if (compareBallots(ballot, this.highest) >= 0) this.noteLeading(proposerOf(ballot), now);
  }

  /**
   * An acceptor refused us for `promised`. Its proposer is evidence of life: defer to it even if
   * its heartbeats do not reach us, instead of pre-empting each other forever.
   */
  onNack(promised: Ballot, now: number): void {
    this.noteBallot(promised);
    this.noteAlive(proposerOf(promised), now);
  }

  heardRecently(proposer: number, now: number): boolean {
    return now - this.lastHeard[proposer]! < this.options.leaderTimeoutMs;
  }

  /**
   * Start of a tick: heartbeat if due, then tell whether we stalled (a busy or paused host) since
   * the last tick. After a stall the heartbeats that arrived meanwhile are still queued behind
   * this tick: judge the others' liveness only on the next one.
   */
  beginTick(now: number, self: SelfReport): boolean {
    this.startedAt ??= now;
    if (now - this.lastHeartbeatAt >= this.options.heartbeatIntervalMs) this.sendHeartbeat(now, self);
    const stalled = this.lastTickAt !== undefined && now - this.lastTickAt > this.options.leaderTimeoutMs / 2;
    this.lastTickAt = now;
    return stalled;
  }

  /**
   * Who should lead: a live leader, else the highest id that recently said it can lead (it hears
   * enough acceptors); a proposer always counts itself.
   */
  electedLeader(now: number, leading: boolean): number {
    if (now < this.invitedUntil) return this.id;
    // A live leader keeps leading: a proposer that rejoins, whatever its id, does not disrupt it.
    // Two leaders that hear each other settle on the higher id. Claims come only from current
    // ballots and from leaders that still hear a quorum (see `noteLeading`).
    let leader = leading ? this.id : -1;
    for (let id = 0; id < this.options.proposers; id++) {
      if (id !== this.id && id > leader && now - this.lastLeading[id]! < this.options.leaderTimeoutMs) leader = id;
    }
    if (leader >= 0) return leader;
    // Nobody leads: the highest id that can lead campaigns. One that hears the other proposers
    // but not the acceptors must not hold everyone back.
    for (let id = this.options.proposers - 1; id > this.id; id--) {
      if (now - this.lastCanLead[id]! < this.options.leaderTimeoutMs) return id;
    }
    return this.id;
  }

  /**
   * `from` (the leader) hands over to us: its earlier claims to lead are moot, and for a leader
   * timeout we campaign and lead without deferring to a higher id.
   */
  invite(from: number, now: number): void {
    if (from < this.options.proposers) this.lastLeading[from] = -Infinity;
    this.invitedUntil = now + this.options.leaderTimeoutMs;
    this.retryAt = -Infinity;
  }

  /** We lead, or lost: the invitation has served. */
  endInvitation(): void {
    this.invitedUntil = -Infinity;
  }

  /** We hand over to `to`: follow it as if it led, until its own heartbeats say so. */
  expectLeader(to: number, now: number): void {
    this.noteLeading(to, now);
  }

  /** Heard from at least `needed` acceptors of the current membership within the leader timeout. */
  hearsAcceptors(now: number, needed: number): boolean {
    let heard = 0;
    for (let a = 0; a < this.lastHeardAcceptor.length; a++) {
      if (isMember(this.membership, a) && now - this.lastHeardAcceptor[a]! < this.options.leaderTimeoutMs) heard++;
    }
    return heard >= needed;
  }

  /** Whether we could lead now: a leader needs a phase-2 quorum, a candidate both quorums (of the current membership). */
  canLead(now: number, leading: boolean): boolean {
    const { phase1Quorum, phase2Quorum } = this.membership;
    return this.hearsAcceptors(now, leading ? phase2Quorum : Math.max(phase1Quorum, phase2Quorum));
  }

  /** CheckQuorum for a leader: it still hears a phase-2 quorum of its epoch's acceptors. */
  hearsPhase2Quorum(now: number): boolean {
    return this.hearsAcceptors(now, this.membership.phase2Quorum);
  }

  /** Whether a follower elected by `electedLeader` should start phase 1 now. */
  shouldCampaign(now: number): boolean {
    return now >= this.retryAt && this.mayCampaign(now) && this.canLead(now, false);
  }

  /**
   * Someone holds a higher ballot: retry above it later, spread out (by `random` in [0, 1)) so
   * that two proposers that both believe they lead do not keep pre-empting each other.
   */
  backOff(now: number, random: number): void {
    this.retryAt = now + this.options.retransmitMs * (1 + 2 * random);
  }

  /**
   * At start-up, listen before claiming leadership: long enough to hear a live leader's heartbeat
   * (the highest id), or to hear from any higher id (the others).
   */
  private mayCampaign(now: number): boolean {
    if (this.options.proposers === 1) return true;
    const grace = this.id === this.options.proposers - 1 ? 2 * this.options.heartbeatIntervalMs : this.options.leaderTimeoutMs;
    return now - this.startedAt! >= grace;
  }

  private sendHeartbeat(now: number, self: SelfReport): void {
    this.lastHeartbeatAt = now;
    const beat: HeartbeatMessage = {
      type: 'heartbeat', from: this.id, ballot: self.ballot, leading: self.leading, decided: self.decided,
      // One behind an epoch only recovers that epoch's log (see `Proposer`): nobody should follow it.
      quorum: this.canLead(now, self.leading) && !this.behindEpoch,
    };
    this.outbox.send(TO_PROPOSERS, beat);
    this.outbox.send(TO_LEARNERS, beat);
    // Acceptors answer every heartbeat (`alive`), so each proposer knows whether it could lead;
    // and a leader with nothing to propose learns that a rival has since won them over (nack).
    this.outbox.send(TO_ACCEPTORS, beat);
  }

  private noteAlive(proposer: number, now: number): void {
    if (proposer < this.options.proposers && proposer !== this.id) this.lastHeard[proposer] = now;
  }

  private noteLeading(proposer: number, now: number): void {
    if (proposer < this.options.proposers && proposer !== this.id) this.lastLeading[proposer] = now;
  }
}
