/**
 * Proposer: one of them, the leader, orders client values. Leadership goes to the highest
 * proposer id heard from recently (a heartbeat failure detector); ballots, not the detector,
 * keep it safe when two proposers believe they lead at once.
 *
 * A new leader runs phase 1 once for every instance from its first undecided one, re-proposes
 * the highest-ballot value reported for each instance (P2c), fills holes with no-ops, then runs
 * phase 2 with up to `window` instances in flight, each carrying a batch of client values cut as
 * soon as the window has room (no fixed batching delay).
 */
import { type Ballot, ZERO_BALLOT, compareBallots, nodeKey, proposerOf, sameBallot } from './ballot.js';
import type {
  AcceptedEntry, Batch, CatchupMessage, CommitNotice, DecidedEntry, DeliverySnapshot, HeartbeatMessage, Message, NackMessage,
  Outgoing, PromiseMessage, SnapshotPart, SubmitMessage, Submission,
} from './messages.js';
import { REGISTRATION_CLIENT, SESSION_EXPIRED, submissionSize } from './messages.js';
import { joinSnapshot, splitSnapshot, wholePart } from './snapshot-parts.js';
import { Fifo } from './fifo.js';
import { Learner } from './learner.js';
import { RecentPositions } from './recent-positions.js';
import { type Leadership, type Ready, type Role, type RoleStatus, EMPTY_READY, Outbox, TO_ACCEPTORS, TO_CLIENTS, TO_LEARNERS, TO_PROPOSERS } from './role.js';
import type { Refusal, Registration } from './learner.js';
import type { ResolvedOptions } from './options.js';

/** Position reported for a value decided below a trim point this proposer skipped over. */
export const UNKNOWN_POSITION = -1;

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

/** The chunks of one acceptor's answer to our prepare, as they arrive. */
interface PromiseCollection {
  /** The trim point the answer was cut at: chunks of another answer never mix with these. */
  cutAt: number;
  chunks: number;
  received: Map<number, readonly AcceptedEntry[]>;
  parts: SnapshotPart[];
}

/** Registrations whose keys a leader remembers, to answer a client whose answer was lost. */
const RECENT_REGISTRATIONS = 4096;

interface InFlight {
  batch: Batch;
  sentAt: number;
}

export class Proposer implements Role {
  readonly group = 'proposers' as const;
  /** The proposer's own view of the decided log (votes and values reach proposers too). */
  readonly learner: Learner;
  private phase: ProposerPhase = 'follower';
  private ballot: Ballot = ZERO_BALLOT;
  private highestSeen: Ballot = ZERO_BALLOT;
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
  private retryAt = -Infinity;
  // Phase 1
  private prepareFrom = 0;
  private prepareSentAt = -Infinity;
  private readonly promises = new Map<number, PromiseCollection>();
  // Phase 2
  private nextToPropose = 0;
  private readonly inFlight = new Map<number, InFlight>();
  /** Every in-flight instance below this one has been released after delivery. */
  private releasedBelow = 0;
  private reproposals: DecidedEntry[] = [];
  private readonly queue = new Fifo<Submission>();
  /** (client, seq) queued or in flight, so a retransmitted submission is not proposed twice. */
  private readonly ordering = new Map<number, Set<number>>();
  /** Registration nonces queued or in flight, likewise. */
  private readonly registering = new Set<string>();
  /** nonce → session key of recent registrations, in registration order. */
  private readonly registered = new Map<string, number>();
  /** Positions of recently delivered values, to answer a client whose ack got lost. */
  private readonly positions = new RecentPositions();
  /** Latest delivered point each learner reported (trimming waits for the slowest). */
  private readonly learnerProgress: number[];
  /** Latest delivered point each proposer announced in its heartbeats. */
  private readonly proposerProgress: number[];
  private lastTrimOrdered = 0;
  /** Sessions opened and values refused by the learner's deliveries since `drainLearner`. */
  private registrations: Registration[] = [];
  private refusals: Refusal[] = [];
  /** Catch-up requests of the learner, sent with our next Ready unless we lead by then. */
  private learnerRequests: Outgoing[] = [];
  /** The leadership the last Ready reported. */
  private reported: Leadership = { leading: false, ballot: ZERO_BALLOT };
  private readonly outbox = new Outbox();
  readonly metrics = {
    elections: 0, instancesProposed: 0, valuesProposed: 0, retransmissions: 0, nacks: 0, catchupServed: 0,
    submissionsIgnored: 0, trims: 0, quorumLost: 0, queueDepth: 0, inFlight: 0, dropped: 0,
  };

  constructor(readonly id: number, private readonly options: ResolvedOptions, private readonly settings: ProposerSettings) {
    this.learner = new Learner(id, options, {
      group: 'proposers', retainLog: true,
      sessions: { registered: (r) => this.registrations.push(r), refused: (r) => this.refusals.push(r) },
    });
    this.lastHeard = new Array<number>(options.proposers).fill(-Infinity);
    this.lastLeading = new Array<number>(options.proposers).fill(-Infinity);
    this.lastCanLead = new Array<number>(options.proposers).fill(-Infinity);
    this.lastHeardAcceptor = new Array<number>(options.acceptors).fill(-Infinity);
    this.learnerProgress = new Array<number>(options.learners).fill(0);
    this.proposerProgress = new Array<number>(options.proposers).fill(0);
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

  handle(message: Message, now: number): void {
    switch (message.type) {
      case 'submit': this.onSubmit(message, now); break;
      case 'heartbeat': this.onHeartbeat(message, now); break;
      case 'promise':
        this.noteAcceptor(message.acceptor, now);
        this.onPromise(message, now);
        break;
      case 'nack':
        this.noteAcceptor(message.acceptor, now);
        this.onNack(message, now);
        break;
      case 'alive':
        this.noteAcceptor(message.acceptor, now);
        this.noteBallot(message.promised);
        break;
      case 'catchup': this.onCatchup(message); break;
      case 'accept':
        this.noteBallot(message.ballot);
        this.noteAlive(proposerOf(message.ballot), now);
        // A deposed leader's 2a (its ballot is below one we have seen) is no claim to lead.
        if (compareBallots(message.ballot, this.highestSeen) >= 0) this.noteLeading(proposerOf(message.ballot), now);
        this.learn(message, now);
        break;
      case 'accepted':
        this.noteAcceptor(message.acceptor, now);
        this.learn(message, now);
        break;
      case 'decided':
      case 'trim':
      case 'trimmed':
        this.learn(message, now);
        break;
      case 'progress':
        if (message.learner < this.learnerProgress.length) this.learnerProgress[message.learner] = message.delivered;
        break;
      default: this.metrics.dropped++;
    }
  }

  tick(now: number): void {
    this.startedAt ??= now;
    if (now - this.lastHeartbeatAt >= this.options.heartbeatIntervalMs) this.sendHeartbeat(now);
    // After a stall of our own (a busy or paused process), the heartbeats that arrived meanwhile
    // are still queued behind this tick: judge the others' liveness only on the next one.
    const stalled = this.lastTickAt !== undefined && now - this.lastTickAt > this.options.leaderTimeoutMs / 2;
    this.lastTickAt = now;
    if (stalled) return;
    // CheckQuorum: a leader that no longer hears a phase-2 quorum of acceptors cannot commit
    // anything; it yields (and says so in its heartbeats) so that a proposer that can takes over.
    if (this.phase === 'leading' && !this.hearsAcceptors(now, this.options.phase2Quorum)) {
      this.metrics.quorumLost++;
      this.preempted(now);
    }
    const elected = this.electedLeader(now);
    if (elected !== this.id) {
      if (this.phase !== 'follower') this.stepDown();
      this.learner.tick(now);
      this.drainLearner();
      return;
    }
    // A higher ballot exists (a rival led while we were cut off, say): our ballot can no longer
    // win, and instances may have been decided without us. Retry above it, as after a nack.
    if (this.phase !== 'follower' && compareBallots(this.highestSeen, this.ballot) > 0) this.preempted(now);
    if (this.phase === 'follower' && now >= this.retryAt && this.mayCampaign(now) && this.canLead(now)) this.startPhase1(now);
    else if (this.phase === 'preparing' && now - this.prepareSentAt >= this.options.retransmitMs) this.sendPrepare(now);
    else if (this.phase === 'leading') {
      this.retransmitStale(now);
      this.maybeTrim(now);
    }
  }

  /**
   * Order everyone to forget instances that every learner and every live proposer has delivered
   * (minus a margin), at a checkpoint so that a latecomer can continue from there.
   */
  private maybeTrim(now: number): void {
    if (this.options.learners === 0) return;
    let below = this.learner.delivered;
    for (const p of this.learnerProgress) below = Math.min(below, p);
    for (let id = 0; id < this.options.proposers; id++) {
      if (id !== this.id && now - this.lastHeard[id]! < this.options.leaderTimeoutMs) below = Math.min(below, this.proposerProgress[id]!);
    }
    const checkpoint = this.learner.checkpointAtOrBelow(below - this.options.trimKeepInstances);
    if (!checkpoint || checkpoint.instance <= this.lastTrimOrdered) return;
    this.lastTrimOrdered = checkpoint.instance;
    this.metrics.trims++;
    for (const part of splitSnapshot(checkpoint, this.options.batchMaxBytes)) {
      const trim = { type: 'trim', snapshot: part } as const;
      this.outbox.send(TO_ACCEPTORS, trim);
      this.outbox.send(TO_PROPOSERS, trim);
    }
    this.learner.handle({ type: 'trim', snapshot: wholePart(checkpoint) }, now);
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
    return { ...EMPTY_READY, messages, ...(changed ? { leadership: this.reported } : {}) };
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.metrics };
    for (const [k, v] of Object.entries(this.learner.metrics)) out[`learner.${k}`] = v;
    return out;
  }

  status(): RoleStatus {
    return { leading: this.isLeader, ballot: this.ballot, instancesDelivered: this.learner.delivered };
  }

  // ------------------------------------------------------------------------------- election

  /**
   * Who should lead: a live leader, else the highest id that recently said it can lead (it hears
   * enough acceptors); a proposer always counts itself.
   */
  private electedLeader(now: number): number {
    // A live leader keeps leading: a proposer that rejoins, whatever its id, does not disrupt it.
    // Two leaders that hear each other settle on the higher id. Claims come only from current
    // ballots and from leaders that still hear a quorum (see `noteLeading`).
    let leader = this.phase === 'leading' ? this.id : -1;
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

  /** Heard from at least `needed` acceptors within the leader timeout. */
  private hearsAcceptors(now: number, needed: number): boolean {
    let heard = 0;
    for (const t of this.lastHeardAcceptor) if (now - t < this.options.leaderTimeoutMs) heard++;
    return heard >= needed;
  }

  /** Whether we could lead now: a leader needs a phase-2 quorum, a candidate both quorums. */
  private canLead(now: number): boolean {
    const { phase1Quorum, phase2Quorum } = this.options;
    return this.hearsAcceptors(now, this.phase === 'leading' ? phase2Quorum : Math.max(phase1Quorum, phase2Quorum));
  }

  private noteAcceptor(acceptor: number, now: number): void {
    if (acceptor < this.lastHeardAcceptor.length) this.lastHeardAcceptor[acceptor] = now;
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

  private sendHeartbeat(now: number): void {
    this.lastHeartbeatAt = now;
    const beat: HeartbeatMessage = {
      type: 'heartbeat', from: this.id, ballot: this.ballot, leading: this.phase === 'leading', decided: this.learner.delivered,
      quorum: this.canLead(now),
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

  private onHeartbeat(m: HeartbeatMessage, now: number): void {
    this.noteAlive(m.from, now);
    this.noteBallot(m.ballot);
    if (m.quorum && m.from < this.options.proposers && m.from !== this.id) this.lastCanLead[m.from] = now;
    // A deposed leader (its ballot is below one we have seen) that has not noticed yet, or one
    // that lost its quorum, is no reason to step down or to wait.
    if (m.leading && m.quorum && compareBallots(m.ballot, this.highestSeen) >= 0) this.noteLeading(m.from, now);
    if (m.from < this.options.proposers) this.proposerProgress[m.from] = m.decided;
    this.learn(m, now);
  }

  private noteBallot(b: Ballot): void {
    if (compareBallots(b, this.highestSeen) > 0) this.highestSeen = b;
  }

  private stepDown(): void {
    this.phase = 'follower';
    this.promises.clear();
    this.inFlight.clear();
    this.reproposals = [];
    this.queue.drain();
    this.ordering.clear();
    this.registering.clear();
    this.updateGauges();
  }

  // ------------------------------------------------------------------------------- phase 1

  private startPhase1(now: number): void {
    this.metrics.elections++;
    const round = Math.max(this.highestSeen.round, this.ballot.round) + 1;
    this.ballot = { round, node: nodeKey(this.id, this.settings.incarnation) };
    this.noteBallot(this.ballot);
    this.phase = 'preparing';
    this.prepareFrom = this.learner.delivered;
    this.promises.clear();
    this.sendPrepare(now);
  }

  private sendPrepare(now: number): void {
    this.prepareSentAt = now;
    this.outbox.send(TO_ACCEPTORS, { type: 'prepare', ballot: this.ballot, from: this.prepareFrom });
  }

  private onPromise(m: PromiseMessage, now: number): void {
    if (this.phase !== 'preparing' || !sameBallot(m.ballot, this.ballot) || m.acceptor >= this.options.acceptors) return;
    let c = this.promises.get(m.acceptor);
    // Chunks of an answer cut at an older trim point are stale: never combine two answers.
    if (c && m.cutAt < c.cutAt) return;
    if (!c || m.cutAt > c.cutAt || c.chunks !== m.chunks) {
      c = { cutAt: m.cutAt, chunks: m.chunks, received: new Map(), parts: [] };
      this.promises.set(m.acceptor, c);
    }
    if (c.received.has(m.chunk)) return;
    c.received.set(m.chunk, m.accepted);
    if (m.trimmed) c.parts.push(m.trimmed);
    let complete = 0;
    for (const p of this.promises.values()) if (p.received.size === p.chunks) complete++;
    if (complete >= this.options.phase1Quorum) this.finishPhase1(now);
  }

  /** P2c: re-propose, for every instance, the value of the highest ballot any promise reported. */
  private finishPhase1(now: number): void {
    // Acceptors that trimmed know everything below their trim point is decided and delivered by
    // every learner: never propose there; continue from the newest such snapshot if we lag it.
    let trimmed: DeliverySnapshot | undefined;
    for (const c of this.promises.values()) {
      if (c.received.size !== c.chunks || c.parts.length === 0) continue;
      const t = joinSnapshot(c.parts);
      if (!trimmed || t.instance > trimmed.instance) trimmed = t;
    }
    if (trimmed && trimmed.instance > this.learner.delivered) {
      this.learner.skipTo(trimmed);
      this.drainLearner();
    }
    const start = Math.max(this.prepareFrom, trimmed?.instance ?? 0);
    const highest = new Map<number, AcceptedEntry>();
    for (const c of this.promises.values()) {
      if (c.received.size !== c.chunks) continue;
      for (const entries of c.received.values()) {
        for (const e of entries) {
          if (e.instance < start) continue;
          const known = highest.get(e.instance);
          if (!known || compareBallots(e.ballot, known.ballot) > 0) highest.set(e.instance, e);
        }
      }
    }
    let end = start;
    for (const instance of highest.keys()) end = Math.max(end, instance + 1);
    this.reproposals = [];
    for (let instance = start; instance < end; instance++) {
      const batch = highest.get(instance)?.batch ?? this.learner.decidedBatch(instance) ?? [];
      this.reproposals.push({ instance, batch });
    }
    this.reproposals.reverse(); // consumed from the end, lowest instance first
    this.promises.clear();
    this.nextToPropose = end;
    this.phase = 'leading';
    this.proposeWhileRoom(now);
  }

  private onNack(m: NackMessage, now: number): void {
    this.metrics.nacks++;
    this.noteBallot(m.promised);
    // A higher proposer's ballot at the acceptors is evidence that it is alive: defer to it even
    // if its heartbeats do not reach us, instead of pre-empting each other forever.
    this.noteAlive(proposerOf(m.promised), now);
    if (this.phase !== 'follower' && sameBallot(m.ballot, this.ballot)) this.preempted(now);
  }

  /**
   * Someone holds a higher ballot: retry above it later, spread out so that two proposers that
   * both believe they lead do not keep pre-empting each other.
   */
  private preempted(now: number): void {
    this.stepDown();
    this.retryAt = now + this.options.retransmitMs * (1 + 2 * this.settings.random());
  }

  // ------------------------------------------------------------------------------- phase 2

  private onSubmit(m: SubmitMessage, now: number): void {
    if (this.phase === 'follower') {
      this.metrics.submissionsIgnored += m.values.length;
      return;
    }
    if (m.client === REGISTRATION_CLIENT) return this.onRegister(m.values, now);
    this.positions.forgetBelow(m.client, m.completedBelow);
    const notices: CommitNotice[] = [];
    let seqs = this.ordering.get(m.client);
    if (!seqs) this.ordering.set(m.client, (seqs = new Set()));
    for (const s of m.values) {
      const admission = this.learner.admission(s.client, s.seq);
      if (admission === 'duplicate') {
        // Delivered below a snapshot this proposer continued from, the position can be unknown:
        // still end the client's wait rather than let it resend forever.
        const position = this.positions.find(s.client, s.seq) ?? UNKNOWN_POSITION;
        notices.push({ client: s.client, seq: s.seq, position });
        continue;
      }
      if (admission === 'expired') {
        notices.push({ client: s.client, seq: s.seq, position: SESSION_EXPIRED });
        continue;
      }
      if (seqs.has(s.seq)) continue; // already queued or in flight
      seqs.add(s.seq);
      this.queue.push(s);
    }
    if (notices.length && this.phase === 'leading') this.outbox.send(TO_CLIENTS, { type: 'committed', entries: notices });
    this.proposeWhileRoom(now);
  }

  /** A client asks for a session: order its registration like a value, once per nonce. */
  private onRegister(entries: readonly Submission[], now: number): void {
    for (const s of entries) {
      const nonce = s.value as string;
      const client = this.registered.get(nonce);
      if (client !== undefined) {
        if (this.phase === 'leading') this.outbox.send(TO_CLIENTS, { type: 'registered', nonce, client });
        continue;
      }
      if (this.registering.has(nonce)) continue;
      this.registering.add(nonce);
      this.queue.push(s);
    }
    this.proposeWhileRoom(now);
  }

  private proposeWhileRoom(now: number): void {
    if (this.phase !== 'leading') return;
    while (this.inFlight.size < this.options.window) {
      const again = this.reproposals.pop();
      if (again) {
        // Decided meanwhile (the old leader's 2b votes may still arrive): nothing to re-propose.
        if (this.learner.isDecided(again.instance)) continue;
        this.markOrdering(again.batch);
        this.sendAccept(again.instance, again.batch, now);
        continue;
      }
      if (this.queue.length === 0) break;
      this.sendAccept(this.nextToPropose++, this.cutBatch(), now);
    }
    this.updateGauges();
  }

  private cutBatch(): Batch {
    const { batchMaxValues, batchMaxBytes } = this.options;
    let bytes = 0;
    let count = 0;
    for (let s = this.queue.peek(0); s && count < batchMaxValues; s = this.queue.peek(count)) {
      const size = submissionSize(s);
      if (count > 0 && bytes + size > batchMaxBytes) break;
      bytes += size;
      count++;
    }
    const batch = this.queue.take(count);
    this.metrics.instancesProposed++;
    this.metrics.valuesProposed += batch.length;
    return batch;
  }

  private sendAccept(instance: number, batch: Batch, now: number): void {
    this.inFlight.set(instance, { batch, sentAt: now });
    this.broadcastAccept(instance, batch, now);
  }

  private broadcastAccept(instance: number, batch: Batch, now: number): void {
    const accept = { type: 'accept', ballot: this.ballot, instance, batch } as const;
    this.outbox.send(TO_ACCEPTORS, accept);
    this.outbox.send(TO_LEARNERS, accept);
    this.outbox.send(TO_PROPOSERS, accept);
    this.learner.handle(accept, now);
  }

  private retransmitStale(now: number): void {
    for (const [instance, f] of this.inFlight) {
      if (now - f.sentAt < this.options.retransmitMs || this.learner.isDecided(instance)) continue;
      f.sentAt = now;
      this.metrics.retransmissions++;
      this.broadcastAccept(instance, f.batch, now);
    }
  }

  private markOrdering(batch: Batch): void {
    for (const s of batch) {
      if (s.client === REGISTRATION_CLIENT) {
        this.registering.add(s.value as string);
        continue;
      }
      let seqs = this.ordering.get(s.client);
      if (!seqs) this.ordering.set(s.client, (seqs = new Set()));
      seqs.add(s.seq);
    }
  }

  // ------------------------------------------------------------------------------- learning

  private learn(m: Message, now: number): void {
    this.learner.handle(m, now);
    this.drainLearner();
    this.proposeWhileRoom(now);
  }

  /**
   * Free the window for delivered instances, remember positions and registrations, and answer
   * clients if leading. The log may have jumped past instances we proposed (a trim snapshot from
   * an acceptor): proposing continues above it.
   */
  private drainLearner(): void {
    const delivered = this.learner.delivered;
    if (delivered - this.releasedBelow > this.inFlight.size) {
      for (const [instance, f] of this.inFlight) if (instance < delivered) this.release(instance, f);
    } else {
      for (let instance = this.releasedBelow; instance < delivered; instance++) {
        const f = this.inFlight.get(instance);
        if (f) this.release(instance, f);
      }
    }
    this.releasedBelow = delivered;
    if (this.phase === 'leading' && this.nextToPropose < delivered) this.nextToPropose = delivered;
    const leading = this.phase === 'leading';
    const registrations = this.registrations;
    const refusals = this.refusals;
    this.registrations = [];
    this.refusals = [];
    for (const r of registrations) {
      if (!this.registered.has(r.nonce)) this.registered.set(r.nonce, r.client);
      if (this.registered.size > RECENT_REGISTRATIONS) this.registered.delete(this.registered.keys().next().value as string);
      if (leading) this.outbox.send(TO_CLIENTS, { type: 'registered', nonce: r.nonce, client: this.registered.get(r.nonce)! });
    }
    const notices: CommitNotice[] = [];
    for (const r of refusals) notices.push({ client: r.client, seq: r.seq, position: SESSION_EXPIRED });
    const learned = this.learner.takeReady();
    if (learned.messages.length) this.learnerRequests = this.learnerRequests.concat(learned.messages);
    for (const d of learned.deliveries) {
      this.positions.add(d.client, d.seq, d.position);
      notices.push({ client: d.client, seq: d.seq, position: d.position });
    }
    if (leading && notices.length) this.outbox.send(TO_CLIENTS, { type: 'committed', entries: notices });
  }

  private release(instance: number, f: InFlight): void {
    for (const s of f.batch) {
      if (s.client === REGISTRATION_CLIENT) this.registering.delete(s.value as string);
      else this.ordering.get(s.client)?.delete(s.seq);
    }
    this.inFlight.delete(instance);
  }

  private onCatchup(m: CatchupMessage): void {
    if (this.phase !== 'leading') return;
    let from = m.from;
    const trimPoint = this.learner.trimPoint;
    if (trimPoint && from < trimPoint.instance) {
      for (const part of splitSnapshot(trimPoint, this.options.batchMaxBytes)) this.outbox.send(m.requester, { type: 'trimmed', snapshot: part });
      from = trimPoint.instance;
    }
    const to = Math.min(m.to, this.learner.delivered);
    let entries: DecidedEntry[] = [];
    let bytes = 0;
    for (let instance = from; instance < to; instance++) {
      const batch = this.learner.decidedBatch(instance);
      if (!batch) break;
      let size = 16;
      for (const s of batch) size += submissionSize(s);
      if (entries.length && bytes + size > this.options.batchMaxBytes) {
        this.outbox.send(m.requester, { type: 'decided', entries });
        entries = [];
        bytes = 0;
      }
      entries.push({ instance, batch });
      bytes += size;
    }
    if (entries.length) this.outbox.send(m.requester, { type: 'decided', entries });
    this.metrics.catchupServed++;
  }

  private updateGauges(): void {
    this.metrics.queueDepth = this.queue.length;
    this.metrics.inFlight = this.inFlight.size;
  }
}
