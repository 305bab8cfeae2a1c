/**
 * Proposer: one of them, the leader, orders client values. Leadership goes to the highest
 * proposer id heard from recently (a heartbeat failure detector); ballots, not the detector,
 * keep it safe when two proposers believe they lead at once.
 *
 * A new leader runs phase 1 once for every instance from its first undecided one, re-proposes
 * the highest-ballot value reported for each instance (P2c), fills holes with no-ops, then runs
 * phase 2 with up to `window` instances in flight, each carrying a batch of client values cut as
 * soon as the window has room (no fixed batching delay).
 *
 * This class owns the phase (follower, preparing, leading) and the ballot, and moves between
 * phases; the work of each lies in its own part, all sharing this proposer's outbox (so messages
 * leave in the order they were produced) and its embedded learner:
 * - `LeaderElection`: heartbeats, who should lead, CheckQuorum, when to campaign;
 * - `PrepareRound`: phase 1, promises and what to re-propose;
 * - `AcceptPipeline`: phase 2, the queue, the in-flight window, retransmission;
 * - `ClientDesk`: admitting submissions and answering clients;
 * - `ReadBarriers`: read barriers (read index), confirmed with a quorum, answered once delivered;
 * - `LeadershipTransfer`: handing over to another proposer with no gap in the order;
 * - `serveCatchup` and `LogTrimmer`: serving and trimming the decided log.
 */
import { type Ballot, ZERO_BALLOT, compareBallots, nodeKey, sameBallot } from './ballot.js';
import type { CatchupMessage, Message, NackMessage, Outgoing, PromiseMessage, SubmitMessage, TakeoverMessage } from './messages.js';
import { REGISTRATION_CLIENT } from './messages.js';
import {
  type MembershipRequest, RECONFIGURATION_CLIENT, epochOf, firstRoundOf, membershipOf, reconfigurationEntry, resolveMembership,
} from './membership.js';
import { AcceptPipeline } from './accept-pipeline.js';
import { serveCatchup } from './catchup-server.js';
import { ClientDesk } from './client-desk.js';
import { LeaderElection } from './leader-election.js';
import { LeadershipTransfer } from './leadership-transfer.js';
import { Learner } from './learner.js';
import { LogTrimmer } from './log-trimmer.js';
import { PrepareRound } from './prepare-round.js';
import { ReadBarriers } from './read-barriers.js';
import { type Leadership, type Ready, type Role, type RoleStatus, EMPTY_READY, NONE, Outbox, TO_PROPOSERS } from './role.js';
import type { ResolvedOptions } from './options.js';

export { UNKNOWN_POSITION } from './client-desk.js';

export type ProposerPhase = 'follower' | 'preparing' | 'leading';

export interface ProposerSettings {
  /**
   * Distinguishes this life of the proposer from earlier ones, so that a proposer restarted
   * without storage never reuses a ballot. The runtime draws it (e.g. 32 random bits).
   */
  incarnation: number;
  /** Injected randomness in [0, 1), used only to spread election retries. */
  random: () => number;
}

export class Proposer implements Role {
  readonly group = 'proposers' as const;
  /** The proposer's own view of the decided log (votes and values reach proposers too). */
  readonly learner: Learner;
  private phase: ProposerPhase = 'follower';
  private ballot: Ballot = ZERO_BALLOT;
  private readonly outbox = new Outbox();
  readonly metrics = {
    elections: 0, instancesProposed: 0, valuesProposed: 0, retransmissions: 0, overtakenRetransmissions: 0, nacks: 0, catchupServed: 0,
    submissionsIgnored: 0, trims: 0, quorumLost: 0, queueDepth: 0, inFlight: 0, barrierRounds: 0, barriersPassed: 0,
    transfersStarted: 0, takeoversSent: 0, transfersAborted: 0, takeovers: 0, dropped: 0,
  };
  private readonly election: LeaderElection;
  private readonly prepare: PrepareRound;
  private readonly pipeline: AcceptPipeline;
  private readonly desk: ClientDesk;
  private readonly trimmer: LogTrimmer;
  private readonly barriers: ReadBarriers;
  private readonly transfer: LeadershipTransfer;
  /** Catch-up requests of the learner, sent with our next Ready unless we lead by then. */
  private learnerRequests: Outgoing[] = [];
  /** The leadership the last Ready reported. */
  private reported: Leadership = { leading: false, ballot: ZERO_BALLOT };
  /** The epoch we lead or campaign in: our learner's, as of the last time we looked. */
  private epoch = 0;

  constructor(readonly id: number, private readonly options: ResolvedOptions, private readonly settings: ProposerSettings) {
    this.desk = new ClientDesk(this.outbox);
    this.learner = new Learner(id, options, { group: 'proposers', retainLog: true, sessions: this.desk });
    this.election = new LeaderElection(id, options, this.outbox, this.learner.membership);
    this.prepare = new PrepareRound(options, this.outbox);
    this.pipeline = new AcceptPipeline(options, this.outbox, this.metrics);
    this.trimmer = new LogTrimmer(id, options, this.outbox, this.metrics);
    this.barriers = new ReadBarriers(options, this.outbox, this.metrics);
    this.transfer = new LeadershipTransfer(options);
  }

  get isLeader(): boolean {
    return this.phase === 'leading';
  }

  get currentPhase(): ProposerPhase {
    return this.phase;
  }

  get currentBallot(): Ballot {
    return this.ballot;
  }

  /**
   * Hand leadership over to proposer `to` (see `LeadershipTransfer`): false, and nothing
   * happens, unless we lead and `to` is another proposer.
   */
  transferLeadership(to: number, now: number): boolean {
    if (!this.isLeader || to === this.id || !Number.isInteger(to) || to < 0 || to >= this.options.proposers) return false;
    this.transfer.start(to, now);
    this.metrics.transfersStarted++;
    return true;
  }

  /**
   * Ask whoever leads to hand over to `to`: at once if we lead, otherwise with a `transferRequest`
   * that the leader acts on (a process that does not run the leader asks through its proposer).
   * `to` may be this proposer (asking for leadership itself). False only for a `to` that is no
   * proposer. Lost requests are the caller's to resend.
   */
  requestTransfer(to: number, now: number): boolean {
    if (!Number.isInteger(to) || to < 0 || to >= this.options.proposers) return false;
    if (this.isLeader) return to === this.id || this.transfer.to === to || this.transferLeadership(to, now);
    this.outbox.send(TO_PROPOSERS, { type: 'transferRequest', from: this.id, to });
    return true;
  }

  /**
   * Ask whoever leads to end the current epoch with `request` as the next one's membership (a
   * stop-sign, see membership.ts). Returns the epoch it would start; throws `ConfigurationError`
   * for a membership that cannot work. Lost requests are the caller's to resend until our
   * learner's membership reaches that epoch (a resend after it did is a no-op).
   */
  requestReconfiguration(request: MembershipRequest): number {
    const next = resolveMembership(request, this.options.acceptors, this.learner.membership.epoch + 1);
    const entry = reconfigurationEntry(next);
    this.outbox.send(TO_PROPOSERS, { type: 'submit', client: RECONFIGURATION_CLIENT, completedBelow: 0, values: [entry] });
    return next.epoch;
  }

  handle(message: Message, now: number): void {
    switch (message.type) {
      case 'submit': this.onSubmit(message, now); break;
      case 'transferRequest':
        // Whoever leads when it arrives hands over (unless already handing over): resends are harmless.
        if (this.isLeader && this.transfer.to === undefined) this.transferLeadership(message.to, now);
        break;
      case 'heartbeat':
        this.election.onHeartbeat(message, now);
        this.trimmer.noteProposerProgress(message.from, message.decided);
        this.learn(message, now);
        break;
      case 'promise':
        this.election.noteAcceptor(message.acceptor, now);
        this.onPromise(message, now);
        break;
      case 'nack':
        this.election.noteAcceptor(message.acceptor, now);
        this.onNack(message, now);
        break;
      case 'alive':
        this.election.noteAcceptor(message.acceptor, now);
        this.election.noteBallot(message.promised);
        break;
      case 'barrier':
        // Only the leader answers; a client asks again until one does.
        if (this.isLeader && this.transfer.to === undefined) this.barriers.request(message.tokens, this.ballot, this.pipeline.proposedEnd, now);
        break;
      case 'confirmed':
        this.election.noteAcceptor(message.acceptor, now);
        this.election.noteBallot(message.promised);
        if (this.isLeader) {
          this.barriers.onConfirmed(message, this.ballot, this.pipeline.proposedEnd, now);
          this.answerBarriers();
        }
        break;
      case 'catchup': this.onCatchup(message); break;
      case 'takeover': this.onTakeover(message, now); break;
      case 'accept':
        this.election.onAccept(message.ballot, now);
        this.learn(message, now);
        break;
      case 'accepted':
        this.election.noteAcceptor(message.acceptor, now);
        this.learn(message, now);
        break;
      case 'decided':
      case 'trim':
      case 'trimmed':
        this.learn(message, now);
        break;
      case 'progress': this.trimmer.noteLearnerProgress(message.learner, message.delivered, message.stateAt); break;
      default: this.metrics.dropped++;
    }
  }

  tick(now: number): void {
    const self = { ballot: this.ballot, leading: this.isLeader, decided: this.learner.delivered };
    if (this.election.beginTick(now, self)) return; // stalled: judge liveness on the next tick
    this.followEpoch(now);
    // CheckQuorum: a leader that no longer hears a phase-2 quorum of acceptors cannot commit
    // anything; it yields (and says so in its heartbeats) so that a proposer that can takes over.
    if (this.isLeader && !this.election.hearsPhase2Quorum(now)) {
      this.metrics.quorumLost++;
      this.preempted(now);
    }
    if (this.election.electedLeader(now, this.isLeader) !== this.id) {
      if (this.phase !== 'follower') this.stepDown();
      this.learner.tick(now);
      this.drainLearner();
      return;
    }
    // A higher ballot exists (a rival led while we were cut off, say): our ballot can no longer
    // win, and instances may have been decided without us. Retry above it, as after a nack.
    if (this.phase !== 'follower' && compareBallots(this.election.highestSeenInEpoch, this.ballot) > 0) this.preempted(now);
    if (this.phase === 'follower' && this.election.shouldCampaign(now)) this.startPhase1(now);
    else if (this.phase === 'preparing' && this.prepare.retransmitDue(now)) this.prepare.send(this.ballot, now);
    else if (this.phase === 'leading') {
      this.pipeline.retransmitStale(this.ballot, this.learner, now);
      this.barriers.tick(this.ballot, now);
      this.handOver(now);
      this.trimmer.maybeTrim(now, this.learner, this.election);
    }
  }

  takeReady(): Ready {
    this.drainLearner();
    let messages = this.outbox.take();
    const learnerRequests = this.learnerRequests;
    this.learnerRequests = [];
    // A leader's log has no gaps it could fill by asking others: it fills them by proposing.
    if (this.phase !== 'leading' && learnerRequests.length > 0) messages = messages.concat(learnerRequests);
    const leading = this.phase === 'leading';
    const changed = leading !== this.reported.leading || (leading && !sameBallot(this.ballot, this.reported.ballot));
    if (changed) this.reported = { leading, ballot: this.ballot };
    if (messages.length === 0 && !changed) return EMPTY_READY;
    const ready: Ready = { writes: NONE, messages, deliveries: NONE, gaps: NONE, completions: NONE };
    return changed ? { ...ready, leadership: this.reported } : ready;
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.metrics };
    for (const [k, v] of Object.entries(this.learner.metrics)) out[`learner.${k}`] = v;
    return out;
  }

  status(): RoleStatus {
    return { leading: this.isLeader, ballot: this.ballot, instancesDelivered: this.learner.delivered };
  }

  // ------------------------------------------------------------------------------- phases

  private stepDown(): void {
    this.phase = 'follower';
    this.prepare.clear();
    this.pipeline.clear();
    this.barriers.clear();
    this.transfer.end();
  }

  /**
   * Someone holds a higher ballot: step down and retry above it later, spread out so that two
   * proposers that both believe they lead do not keep pre-empting each other.
   */
  private preempted(now: number): void {
    this.stepDown();
    this.election.endInvitation();
    this.election.backOff(now, this.settings.random());
  }

  /**
   * Campaign in our learner's epoch, with a ballot above every one seen in it (and in earlier
   * epochs). Never in a later epoch: we do not know its acceptors before our log reaches it. Behind
   * one (restarted without memory, say), we recover our epoch's log up to its stop-sign this way
   * when nobody leads who could catch us up, and move on epoch by epoch.
   */
  private startPhase1(now: number): void {
    this.metrics.elections++;
    const own = epochOf(this.ballot) === this.epoch ? this.ballot.round : 0;
    const round = Math.max(this.election.highestSeenInEpoch.round, own, firstRoundOf(this.epoch) - 1) + 1;
    this.ballot = { round, node: nodeKey(this.id, this.settings.incarnation) };
    this.election.noteBallot(this.ballot);
    this.phase = 'preparing';
    this.prepare.start(this.ballot, this.learner.delivered, this.learner.membership, now);
  }

  /**
   * Our learner crossed a stop-sign (or jumped to a snapshot of a later epoch): quorums are the new
   * membership's from now on. A leader or candidate campaigns at once in the new epoch, keeping the
   * values it queued; barriers not answered yet are dropped (their quorum was the old epoch's).
   */
  private followEpoch(now: number): void {
    const membership = this.learner.membership;
    if (membership.epoch === this.epoch) return;
    this.epoch = membership.epoch;
    this.election.enterEpoch(membership);
    this.barriers.enterEpoch(membership);
    this.transfer.end();
    if (this.phase === 'follower') return;
    this.prepare.clear();
    this.pipeline.restartEpoch();
    this.phase = 'follower';
    this.startPhase1(now);
  }

  private onPromise(m: PromiseMessage, now: number): void {
    if (this.phase === 'preparing' && this.prepare.addPromise(m, this.ballot)) this.finishPhase1(now);
  }

  /** A phase-1 quorum answered: catch up to the newest trim point they report, then lead. */
  private finishPhase1(now: number): void {
    const trimmed = this.prepare.newestTrimPoint();
    // We lag what the acceptors trimmed: continue from their snapshot.
    if (trimmed && trimmed.instance > this.learner.delivered) {
      this.learner.skipTo(trimmed);
      this.drainLearner();
      if (this.learner.membership.epoch !== this.epoch) {
        this.followEpoch(now); // the snapshot is of a later epoch: campaign there instead
        return;
      }
    }
    const start = Math.max(this.prepare.firstInstance, trimmed?.instance ?? 0);
    const found = this.prepare.reproposals(start, this.learner);
    this.prepare.clear();
    this.pipeline.begin(found);
    this.phase = 'leading';
    this.election.endInvitation();
    this.proposeWhileRoom(now);
  }

  private onNack(m: NackMessage, now: number): void {
    this.metrics.nacks++;
    this.election.onNack(m.promised, now);
    if (this.phase !== 'follower' && sameBallot(m.ballot, this.ballot)) this.preempted(now);
  }

  // ------------------------------------------------------------------------------- clients and the log

  private onSubmit(m: SubmitMessage, now: number): void {
    // Only a (would-be) leader orders values; clients find the leader by its answers. One that
    // hands over admits nothing new: its clients ask again and find the next leader.
    if (this.phase === 'follower' || this.transfer.to !== undefined) {
      this.metrics.submissionsIgnored += m.values.length;
      return;
    }
    if (m.client === RECONFIGURATION_CLIENT) this.admitReconfiguration(m);
    else if (m.client === REGISTRATION_CLIENT) this.desk.admitRegistrations(m.values, this.isLeader, this.pipeline);
    else this.desk.admitValues(m, this.isLeader, this.learner, this.pipeline);
    this.proposeWhileRoom(now);
  }

  /** A reconfiguration for the next epoch, within our acceptor slots, becomes the stop-sign; anything else is stale. */
  private admitReconfiguration(m: SubmitMessage): void {
    const entry = m.values[0];
    const next = entry && membershipOf(entry);
    if (!next || next.epoch !== this.learner.membership.epoch + 1 || next.acceptors >= 2 ** this.options.acceptors) return;
    this.pipeline.queueStopSign(entry);
  }

  private proposeWhileRoom(now: number): void {
    if (this.phase === 'leading') this.pipeline.fill(this.ballot, this.learner, now);
  }

  private learn(m: Message, now: number): void {
    this.learner.handle(m, now);
    this.drainLearner();
    this.followEpoch(now);
    this.proposeWhileRoom(now);
  }

  /** Take what the learner produced: free the window, keep its catch-up requests, answer clients. */
  private drainLearner(): void {
    const leading = this.isLeader;
    this.pipeline.releaseDelivered(this.learner.delivered, leading);
    if (leading) this.answerBarriers();
    const learned = this.learner.takeReady();
    if (learned.messages.length) this.learnerRequests = this.learnerRequests.concat(learned.messages);
    this.desk.answerLearned(learned.deliveries, leading);
  }

  /** Answer the barriers our learner's delivery covers, unless it crossed into another epoch (see `followEpoch`). */
  private answerBarriers(): void {
    if (this.learner.membership.epoch === this.epoch) this.barriers.answerDelivered(this.learner.delivered, this.learner.position);
  }

  /** A transfer's tick: hand over once drained and the target caught up, or give up at the deadline. */
  private handOver(now: number): void {
    const to = this.transfer.to;
    if (to === undefined) return;
    const step = this.transfer.step(now, this.pipeline.drained, this.trimmer.proposerDelivered(to) >= this.pipeline.proposedEnd);
    if (step === 'abort') this.metrics.transfersAborted++;
    if (step !== 'send') return;
    this.outbox.send({ group: 'proposers', member: to }, { type: 'takeover', from: this.id, ballot: this.ballot });
    this.election.expectLeader(to, now);
    this.metrics.takeoversSent++;
  }

  /** Our leader hands over to us: campaign now, above every ballot we know of. */
  private onTakeover(m: TakeoverMessage, now: number): void {
    if (m.from === this.id || this.phase === 'leading' || compareBallots(m.ballot, this.election.highestSeen) < 0) return;
    this.metrics.takeovers++;
    this.election.invite(m.from, now);
    if (this.phase === 'follower') this.startPhase1(now);
  }

  private onCatchup(m: CatchupMessage): void {
    if (this.phase !== 'leading') return;
    serveCatchup(m, this.learner, this.options.batchMaxBytes, this.outbox);
    this.metrics.catchupServed++;
  }
}
