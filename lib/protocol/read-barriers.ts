/**
 * A leader's read barriers (read index, as etcd raft's ReadIndex, without writing to the log).
 * A barrier asked at time t is answered with a position P such that every value decided before
 * t has a position below P:
 *
 * 1. The read index is the instance this leader would propose next: every value decided before
 *    t at a ballot not above ours is below it (our own proposals, and what our phase-1 quorum
 *    reported of lower ballots, which every phase-2 quorum of theirs intersects).
 * 2. A round of `confirm` sent after t: a phase-2 quorum answers that it had promised nothing
 *    above our ballot. A leader that decided anything before t at a higher ballot had a phase-1
 *    quorum promise it before t; that quorum meets ours (q1 + q2 > n), so a higher ballot would
 *    show. So nothing was decided above our ballot before t.
 * 3. Once our own learner has delivered every instance below the read index, its position is P.
 *
 * Across a membership change the quorums of two epochs need not meet, so a leader drops every
 * barrier it has not answered when its learner crosses a stop-sign (see `Proposer`): a barrier
 * is only ever answered with a position of the epoch its round was confirmed in.
 *
 * Nothing here touches the log or the acceptors' state; losing a round or stepping down only
 * delays an answer (clients ask again). Timing plays no part: no lease is assumed.
 */
import { type Ballot, compareBallots, sameBallot } from './ballot.js';
import { type ConfirmedMessage, MAX_BARRIER_TOKENS } from './messages.js';
import type { ResolvedOptions } from './options.js';
import { type Membership, initialMembership, isMember } from './membership.js';
import { type Outbox, TO_ACCEPTORS, TO_CLIENTS } from './role.js';

interface Round {
  readonly round: number;
  readonly tokens: readonly string[];
  readonly readIndex: number;
  /** Acceptors that confirmed, as bits. */
  mask: number;
  count: number;
  sentAt: number;
}

interface Confirmed {
  readonly tokens: readonly string[];
  readonly readIndex: number;
}

export interface BarrierMetrics {
  barrierRounds: number;
  barriersPassed: number;
}

export class ReadBarriers {
  private nextRound = 1;
  /** Tokens asked for since the current round was sent: they need a round of their own. */
  private waiting: string[] = [];
  private current: Round | undefined;
  /** Confirmed, waiting for our learner to deliver up to their read index (ascending). */
  private confirmed: Confirmed[] = [];

  /** The acceptors of our epoch: only their confirmations count. */
  private members: Membership;

  constructor(private readonly options: ResolvedOptions, private readonly outbox: Outbox, private readonly metrics: BarrierMetrics) {
    this.members = initialMembership(options);
  }

  /** A new epoch: drop everything not answered yet (its quorum was the old epoch's) and count the new members. */
  enterEpoch(m: Membership): void {
    this.clear();
    this.members = m;
  }

  /** Clients ask (while we lead): they wait for the next round. */
  request(tokens: readonly string[], ballot: Ballot, readIndex: number, now: number): void {
    for (const t of tokens) this.waiting.push(t);
    if (!this.current) this.startRound(ballot, readIndex, now);
  }

  /** An acceptor's answer: with a phase-2 quorum that promised nothing above `ballot`, the round holds. */
  onConfirmed(m: ConfirmedMessage, ballot: Ballot, readIndex: number, now: number): void {
    const r = this.current;
    const members = this.members;
    if (!r || m.round !== r.round || !sameBallot(m.ballot, ballot) || !isMember(members, m.acceptor) || compareBallots(m.promised, ballot) > 0) return;
    const bit = 1 << m.acceptor;
    if ((r.mask & bit) !== 0) return;
    r.mask |= bit;
    if (++r.count < members.phase2Quorum) return;
    this.confirmed.push({ tokens: r.tokens, readIndex: r.readIndex });
    this.current = undefined;
    if (this.waiting.length) this.startRound(ballot, readIndex, now);
  }

  /** A round unanswered for `retransmitMs` is sent again (same round: its tokens all came before it). */
  tick(ballot: Ballot, now: number): void {
    const r = this.current;
    if (r && now - r.sentAt >= this.options.retransmitMs) this.send(r, ballot, now);
  }

  /** Our learner delivered every instance below `delivered`, `position` values in all: answer what that covers. */
  answerDelivered(delivered: number, position: number): void {
    let k = 0;
    while (k < this.confirmed.length && this.confirmed[k]!.readIndex <= delivered) k++;
    if (k === 0) return;
    const due = this.confirmed.splice(0, k);
    const tokens = due.flatMap((c) => c.tokens);
    for (let i = 0; i < tokens.length; i += MAX_BARRIER_TOKENS) {
      this.outbox.send(TO_CLIENTS, { type: 'barrierPassed', tokens: tokens.slice(i, i + MAX_BARRIER_TOKENS), position });
    }
    this.metrics.barriersPassed += tokens.length;
  }

  /** We stopped leading: nothing confirmed under the old ballot may be answered any more. */
  clear(): void {
    this.waiting = [];
    this.current = undefined;
    this.confirmed = [];
  }

  private startRound(ballot: Ballot, readIndex: number, now: number): void {
    const r: Round = { round: this.nextRound++, tokens: this.waiting, readIndex, mask: 0, count: 0, sentAt: now };
    this.waiting = [];
    this.current = r;
    this.metrics.barrierRounds++;
    this.send(r, ballot, now);
  }

  private send(r: Round, ballot: Ballot, now: number): void {
    r.sentAt = now;
    this.outbox.send(TO_ACCEPTORS, { type: 'confirm', ballot, round: r.round });
  }
}
