/**
 * Learner: decides an instance once a phase-2 quorum of acceptors voted for the same ballot and
 * it holds that ballot's value, then delivers instances in order, with no gaps, each client value
 * once. A learner that sees a gap, or hears from the leader that it is behind, asks the leader
 * for the decided values it lacks (catch-up), so a late or lossy learner still delivers the whole
 * sequence from the first value.
 *
 * Proposers embed a learner too (with `retainLog`), which is how a leader knows what is decided,
 * serves catch-up, and how a successor takes over from where the log really stands.
 */
import { type Ballot, sameBallot } from './ballot.js';
import type {
  AcceptMessage, AcceptedMessage, Batch, DecidedMessage, DeliverySnapshot, Destination, Group, Message,
} from './messages.js';
import { REGISTRATION_CLIENT } from './messages.js';
import { type Admission, DeliveryFilter } from './delivery-filter.js';
import { DecidedLog } from './decided-log.js';
import { SnapshotAssembler } from './snapshot-parts.js';
import { StateTransfer } from './state-transfer.js';
import { type LearnerState, decodeState } from './state-blob.js';
import {
  type Delivery, type DeliveryGap, type Ready, type RestoredState, type Role, type RoleStatus, EMPTY_READY, NONE, Outbox, TO_PROPOSERS,
} from './role.js';

export type { Delivery, DeliveryGap } from './role.js';
import type { ResolvedOptions } from './options.js';

export type { LearnerSettings, Refusal, Registration, SessionListener } from './learner-settings.js';
import type { LearnerSettings, SessionListener } from './learner-settings.js';

interface Vote {
  ballot: Ballot;
  /** Bit i set: acceptor i voted. */
  mask: number;
  count: number;
}

interface PendingInstance {
  proposals: { ballot: Ballot; batch: Batch }[];
  votes: Vote[];
  decided?: Batch;
}

export class Learner implements Role {
  readonly group: Group;
  /** First instance not yet delivered: every instance below it is decided and delivered. */
  private nextToDeliver = 0;
  private nextPosition = 0;
  private readonly pending = new Map<number, PendingInstance>();
  private filter: DeliveryFilter;
  private readonly snapshotParts = new SnapshotAssembler();
  private readonly sessions: SessionListener | undefined;
  /** The delivered batches and checkpoints, when retained (proposers serve catch-up from it). */
  private readonly log: DecidedLog | undefined;
  private gaps: DeliveryGap[] = [];
  /** Application state kept and exchanged with peers (`stateSnapshots`; not in proposers). */
  private readonly state: StateTransfer | undefined;
  private restored: RestoredState | undefined;
  private lastProgressReportAt = -Infinity;
  private deliveries: Delivery[] = [];
  private readonly outbox = new Outbox();
  private readonly self: Destination;
  /** One past the highest instance known to exist anywhere. */
  private knownEnd = 0;
  /** One past the highest instance decided here: a later instance decided while the head is not is a sign of loss. */
  private decidedEnd = 0;
  private lastProgressAt = -Infinity;
  private lastRequestAt = -Infinity;
  /** The head instance a tick found stuck (see `pollStuckHead`). */
  private stuckAt: number | undefined;
  /** When we last fell behind what exists; undefined while up to date. */
  private behindSince: number | undefined;
  private requestedTo = 0;
  readonly metrics = {
    instancesDecided: 0, valuesDelivered: 0, duplicatesDropped: 0, expiredRefused: 0, sessionsRegistered: 0, catchupRequests: 0, dropped: 0,
  };

  constructor(readonly id: number, private readonly options: ResolvedOptions, settings: LearnerSettings = {}) {
    this.group = settings.group ?? 'learners';
    this.filter = new DeliveryFilter(options);
    this.log = settings.retainLog ? new DecidedLog(options, this.snapshot()) : undefined;
    this.sessions = settings.sessions;
    this.self = { group: this.group, member: id };
    this.state = options.stateSnapshots && this.group === 'learners' ? new StateTransfer(id, options, this.outbox) : undefined;
  }

  /** Instances decided and delivered so far (= the next instance to deliver). */
  get delivered(): number {
    return this.nextToDeliver;
  }

  /** Values delivered so far (= the position the next value will get). */
  get position(): number {
    return this.nextPosition;
  }

  /** Whether `instance` is known decided (delivered, or decided above a gap). */
  isDecided(instance: number): boolean {
    return instance < this.nextToDeliver || this.pending.get(instance)?.decided !== undefined;
  }

  /** The decided batch of an instance: delivered (when the log is retained) or decided above a gap. */
  decidedBatch(instance: number): Batch | undefined {
    return this.log?.decidedBatch(instance) ?? this.pending.get(instance)?.decided;
  }

  /** What delivering (client, seq) now would do: 'duplicate' = delivered already. */
  admission(client: number, seq: number): Admission {
    return this.filter.check(client, seq);
  }

  handle(message: Message, now: number): void {
    switch (message.type) {
      case 'accept': this.onProposal(message); break;
      case 'accepted': this.onVote(message); break;
      case 'decided': this.onDecided(message); break;
      case 'heartbeat': this.noteExists(message.decided); break;
      case 'trim': {
        const whole = this.snapshotParts.add(message.snapshot);
        if (whole) this.onTrim(whole, now);
        break;
      }
      case 'trimmed': {
        const whole = this.snapshotParts.add(message.snapshot);
        if (whole) this.continueFrom(whole, now);
        break;
      }
      case 'stateRequest': this.state?.serve(message); return;
      case 'stateChunk': {
        const state = this.state?.receive(message, now);
        if (state) this.restore(state);
        break;
      }
      default: this.metrics.dropped++; return;
    }
    this.deliverReady(now);
    this.pollCatchup(now);
  }

  tick(now: number): void {
    this.state?.poll(now);
    this.pollCatchup(now);
    this.pollStuckHead(now);
    if (this.group === 'learners' && this.options.trimAfterLearners > 0 &&
        now - this.lastProgressReportAt >= this.options.heartbeatIntervalMs * 5) {
      this.lastProgressReportAt = now;
      this.outbox.send(TO_PROPOSERS, { type: 'progress', learner: this.id, delivered: this.nextToDeliver, stateAt: this.state?.heldAt ?? 0 });
    }
  }

  /**
   * `stateSnapshots`: mark where delivery stands now (every value below `position` delivered), for
   * the application to snapshot itself once it has applied as far and hand the bytes to
   * `stateTaken(instance, ...)`. Undefined without `stateSnapshots`.
   */
  markState(): { instance: number; position: number } | undefined {
    this.state?.mark(this.snapshot());
    return this.state && { instance: this.nextToDeliver, position: this.nextPosition };
  }

  /** The application's state at the point `markState` returned `instance` for; false if stale or unknown. */
  stateTaken(instance: number, app: Uint8Array): boolean {
    return this.state?.taken(instance, app) ?? false;
  }

  /** The position the newest state held ends at (every value below it is in it); undefined while none. */
  get heldStatePosition(): number | undefined {
    return this.state?.heldPosition;
  }

  /** The newest state held, as the bytes to persist and hand to `loadState` after a restart. */
  get heldState(): Uint8Array | undefined {
    return this.state?.heldBlob;
  }

  /** A restarted learner continues from a state it persisted (the next Ready carries it as `restored`). */
  loadState(blob: Uint8Array): boolean {
    const state = decodeState(blob);
    if (!this.state || !state) return false;
    this.state.load(blob, state.delivery);
    this.restore(state);
    return true;
  }

  /** Where delivery stands now, as plain data. */
  snapshot(): DeliverySnapshot {
    return { instance: this.nextToDeliver, position: this.nextPosition, nextClient: this.filter.nextClientKey, clients: this.filter.marks() };
  }

  /** The newest checkpoint at or below `instance` (proposers with trimming only). */
  checkpointAtOrBelow(instance: number): DeliverySnapshot | undefined {
    return this.log?.checkpointAtOrBelow(instance);
  }

  /** The snapshot the retained log starts from: catch-up below it is answered with it. */
  get trimPoint(): DeliverySnapshot | undefined {
    return this.log?.trimPoint;
  }

  /** The leader ordered a trim: forget retained batches below it (or jump there if behind). */
  private onTrim(snapshot: DeliverySnapshot, now: number): void {
    if (snapshot.instance > this.nextToDeliver) {
      this.continueFrom(snapshot, now);
      return;
    }
    this.log?.trimTo(snapshot);
  }

  /** The log below `snapshot` is gone: fetch a peer's application state, or (without) skip. */
  private continueFrom(snapshot: DeliverySnapshot, now: number): void {
    if (this.state && snapshot.instance > this.nextToDeliver) this.state.want(snapshot.instance, now);
    else this.skipTo(snapshot);
  }

  /** Continue from a snapshot: what lies below it was trimmed and can never be delivered here. */
  skipTo(snapshot: DeliverySnapshot): void {
    if (snapshot.instance <= this.nextToDeliver) return;
    this.gaps.push({
      fromInstance: this.nextToDeliver, toInstance: snapshot.instance, fromPosition: this.nextPosition, toPosition: snapshot.position,
    });
    this.jumpTo(snapshot);
  }

  /** Continue from an application state: the application restores it instead of seeing a gap. */
  private restore(state: LearnerState): void {
    if (state.delivery.instance <= this.nextToDeliver) return;
    this.jumpTo(state.delivery);
    this.restored = { instance: state.delivery.instance, position: state.delivery.position, state: state.app };
  }

  private jumpTo(snapshot: DeliverySnapshot): void {
    for (const instance of this.pending.keys()) if (instance < snapshot.instance) this.pending.delete(instance);
    this.log?.restartAt(snapshot);
    this.nextToDeliver = snapshot.instance;
    this.nextPosition = snapshot.position;
    this.filter = DeliveryFilter.restore(snapshot, this.options);
    this.requestedTo = 0;
  }

  takeReady(): Ready {
    if (this.outbox.size === 0 && this.deliveries.length === 0 && this.gaps.length === 0 && !this.restored) return EMPTY_READY;
    const ready: Ready = { writes: NONE, messages: this.outbox.take(), deliveries: this.deliveries, gaps: this.gaps, completions: NONE };
    this.deliveries = [];
    this.gaps = [];
    if (!this.restored) return ready;
    const restored = this.restored;
    this.restored = undefined;
    return { ...ready, restored };
  }

  counters(): Record<string, number> {
    return { ...this.metrics, ...this.state?.metrics };
  }

  status(): RoleStatus {
    return { instancesDelivered: this.nextToDeliver, valuesDelivered: this.nextPosition };
  }

  private noteExists(end: number): void {
    if (end > this.knownEnd) this.knownEnd = end;
  }

  private pendingAt(instance: number): PendingInstance {
    let p = this.pending.get(instance);
    if (!p) {
      p = { proposals: [], votes: [] };
      this.pending.set(instance, p);
    }
    return p;
  }

  private onProposal(m: AcceptMessage): void {
    this.noteExists(m.instance + 1);
    if (this.isDecided(m.instance)) return;
    const p = this.pendingAt(m.instance);
    if (!p.proposals.some((x) => sameBallot(x.ballot, m.ballot))) p.proposals.push({ ballot: m.ballot, batch: m.batch });
    this.tryDecide(m.instance, p);
  }

  private onVote(m: AcceptedMessage): void {
    this.noteExists(m.instance + 1);
    if (this.isDecided(m.instance) || m.acceptor >= this.options.acceptors) return;
    const p = this.pendingAt(m.instance);
    let vote = p.votes.find((v) => sameBallot(v.ballot, m.ballot));
    if (!vote) {
      vote = { ballot: m.ballot, mask: 0, count: 0 };
      p.votes.push(vote);
    }
    const bit = 1 << m.acceptor;
    if ((vote.mask & bit) === 0) {
      vote.mask |= bit;
      vote.count++;
    }
    this.tryDecide(m.instance, p);
  }

  private onDecided(m: DecidedMessage): void {
    for (const e of m.entries) {
      this.noteExists(e.instance + 1);
      if (!this.isDecided(e.instance)) this.decide(e.instance, this.pendingAt(e.instance), e.batch);
    }
  }

  /** A value is chosen once a phase-2 quorum accepted the same ballot; its value is that ballot's. */
  private tryDecide(instance: number, p: PendingInstance): void {
    for (const vote of p.votes) {
      if (vote.count < this.options.phase2Quorum) continue;
      const proposal = p.proposals.find((x) => sameBallot(x.ballot, vote.ballot));
      if (proposal) {
        this.decide(instance, p, proposal.batch);
        return;
      }
    }
  }

  private decide(instance: number, p: PendingInstance, batch: Batch): void {
    p.decided = batch;
    if (instance >= this.decidedEnd) this.decidedEnd = instance + 1;
    p.proposals = [];
    p.votes = [];
    this.metrics.instancesDecided++;
  }

  private deliverReady(now: number): void {
    const start = this.nextToDeliver;
    for (let p = this.pending.get(this.nextToDeliver); p?.decided; p = this.pending.get(this.nextToDeliver)) {
      const instance = this.nextToDeliver;
      this.filter.beforeInstance(instance);
      for (const s of p.decided) {
        if (s.client === REGISTRATION_CLIENT) {
          const client = this.filter.register(s.seq, instance);
          this.sessions?.registered({ nonce: s.value as string, client });
          this.metrics.sessionsRegistered++;
          continue;
        }
        const admission = this.filter.admit(s.client, s.seq, instance);
        if (admission !== 'new') {
          if (admission === 'duplicate') this.metrics.duplicatesDropped++;
          else {
            this.metrics.expiredRefused++;
            this.sessions?.refused({ client: s.client, seq: s.seq });
          }
          continue;
        }
        this.deliveries.push({ position: this.nextPosition++, instance, client: s.client, seq: s.seq, value: s.value });
        this.metrics.valuesDelivered++;
      }
      this.log?.append(instance, p.decided);
      this.pending.delete(instance);
      this.nextToDeliver++;
      if (this.log?.checkpointDue(this.nextToDeliver)) this.log.addCheckpoint(this.snapshot());
    }
    if (this.nextToDeliver !== start) this.lastProgressAt = now;
  }

  /**
   * Ask the leader for what we lack: at once while a catch-up is running and its last answer has
   * been absorbed, otherwise only after `catchupMs` without progress, so normal pipelining (where
   * later instances are often decided first) causes no requests.
   */
  private pollCatchup(now: number): void {
    if (this.state?.fetching) return; // below the trim point: only a peer's state helps
    if (this.nextToDeliver >= this.knownEnd) {
      this.requestedTo = 0;
      this.behindSince = undefined;
      return;
    }
    this.behindSince ??= now;
    const quietSince = Math.max(this.lastProgressAt, this.behindSince, this.lastRequestAt);
    const answered = this.requestedTo > 0 && this.nextToDeliver >= this.requestedTo;
    const stalled = now - quietSince >= this.options.catchupMs;
    if (!answered && !stalled) return;
    this.requestCatchup(now);
  }

  /**
   * The next instance to deliver is stuck, most likely by loss, and everything behind it waits:
   * either it is chosen (a phase-2 quorum voted for one ballot) but its 2a never reached us, or a
   * later instance is decided here while it is not (its votes or 2a were lost). Ask at once — on
   * the second tick that finds the same head so, to give a message that is only slower than its
   * successors a chance — rather than after `catchupMs` of silence. Not while a request covering it
   * is unanswered.
   */
  private pollStuckHead(now: number): void {
    const head = this.nextToDeliver;
    if (this.requestedTo > head || this.state?.fetching || !this.headStuck(head)) {
      this.stuckAt = undefined;
      return;
    }
    if (this.stuckAt !== head) {
      this.stuckAt = head;
      return;
    }
    this.stuckAt = undefined;
    this.requestCatchup(now);
  }

  private headStuck(head: number): boolean {
    const p = this.pending.get(head);
    if (p?.decided) return false;
    if (this.decidedEnd > head + 1) return true;
    return !!p && p.votes.some((v) => v.count >= this.options.phase2Quorum && !p.proposals.some((x) => sameBallot(x.ballot, v.ballot)));
  }

  private requestCatchup(now: number): void {
    const to = Math.min(this.knownEnd, this.nextToDeliver + this.options.catchupMaxInstances);
    this.outbox.send(TO_PROPOSERS, { type: 'catchup', requester: this.self, from: this.nextToDeliver, to });
    this.requestedTo = to;
    this.lastRequestAt = now;
    this.metrics.catchupRequests++;
  }
}
