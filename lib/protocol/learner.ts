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
import type {
  AcceptMessage, AcceptedMessage, Batch, DecidedEntry, DecidedMessage, DeliverySnapshot, Destination, Group, Message,
} from './messages.js';
import { REGISTRATION_CLIENT } from './messages.js';
import { type Admission, DeliveryFilter } from './delivery-filter.js';
import { DecidedLog } from './decided-log.js';
import { type Membership, RECONFIGURATION_CLIENT, initialMembership, stopSignIn } from './membership.js';
import { PendingDecisions } from './pending-decisions.js';
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

export class Learner implements Role {
  readonly group: Group;
  /** First instance not yet delivered: every instance below it is decided and delivered. */
  private nextToDeliver = 0;
  private nextPosition = 0;
  /** Votes, proposals and decisions above the delivery point, counted in the current epoch's membership. */
  private readonly pending: PendingDecisions;
  /** Where the current epoch began (instance 0 for epoch 0). */
  private epochStart = { instance: 0, position: 0 };
  private readonly initial: Membership;
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
  private lastProgressAt = -Infinity;
  private lastRequestAt = -Infinity;
  /** The head instance a tick found stuck (see `pollStuckHead`). */
  private stuckAt: number | undefined;
  /** When we last fell behind what exists; undefined while up to date. */
  private behindSince: number | undefined;
  private requestedTo = 0;
  readonly metrics = {
    instancesDecided: 0, epochsEntered: 0, valuesDelivered: 0, duplicatesDropped: 0, expiredRefused: 0, sessionsRegistered: 0, catchupRequests: 0, dropped: 0,
  };

  constructor(readonly id: number, private readonly options: ResolvedOptions, settings: LearnerSettings = {}) {
    this.group = settings.group ?? 'learners';
    this.filter = new DeliveryFilter(options);
    this.initial = initialMembership(options);
    this.pending = new PendingDecisions(this.initial, this.metrics);
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

  /** The acceptors and quorums of the epoch the delivery point is in. */
  get membership(): Membership {
    return this.pending.membership;
  }

  /** Where the current epoch began: its first instance, and the position of its first value. */
  get epochStartedAt(): { readonly instance: number; readonly position: number } {
    return this.epochStart;
  }

  /** Whether `instance` is known decided (delivered, or decided above a gap in the current epoch). */
  isDecided(instance: number): boolean {
    return instance < this.nextToDeliver || this.pending.isDecided(instance);
  }

  /** The decided batch of an instance: delivered (when the log is retained) or decided above a gap. */
  decidedBatch(instance: number): Batch | undefined {
    return this.log?.decidedBatch(instance) ?? this.pending.decidedBatch(instance);
  }

  /** A decided instance as catch-up serves it, with the epoch it was decided in. */
  decidedEntry(instance: number): DecidedEntry | undefined {
    const logged = this.log?.decidedBatch(instance);
    const batch = logged ?? this.pending.decidedBatch(instance);
    if (!batch) return undefined;
    const epoch = logged ? this.log!.epochAt(instance) : this.membership.epoch;
    return epoch === 0 ? { instance, batch } : { instance, batch, epoch }; // epoch 0 goes without (as on the wire)
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
    const at = { instance: this.nextToDeliver, position: this.nextPosition, nextClient: this.filter.nextClientKey, clients: this.filter.marks() };
    return this.membership.epoch === 0 ? at : { ...at, membership: this.membership };
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
    const membership = snapshot.membership ?? this.initial;
    if (membership.epoch !== this.membership.epoch) this.epochStart = { instance: snapshot.instance, position: snapshot.position };
    this.pending.restartAt(snapshot.instance, membership);
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

  private onProposal(m: AcceptMessage): void {
    this.noteExists(m.instance + 1);
    if (m.instance >= this.nextToDeliver) this.pending.proposal(m.instance, m.ballot, m.batch);
  }

  private onVote(m: AcceptedMessage): void {
    this.noteExists(m.instance + 1);
    if (m.instance >= this.nextToDeliver && m.acceptor < this.options.acceptors) this.pending.vote(m.instance, m.ballot, m.acceptor);
  }

  private onDecided(m: DecidedMessage): void {
    for (const e of m.entries) {
      this.noteExists(e.instance + 1);
      if (e.instance >= this.nextToDeliver) this.pending.decision(e.instance, e.batch, e.epoch ?? 0);
    }
  }

  private deliverReady(now: number): void {
    const start = this.nextToDeliver;
    for (let batch = this.pending.decidedBatch(start); batch; batch = this.pending.decidedBatch(this.nextToDeliver)) {
      const instance = this.nextToDeliver;
      this.filter.beforeInstance(instance);
      for (const s of batch) {
        if (s.client === RECONFIGURATION_CLIENT) continue; // the log's own entry, not a value (see below)
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
      this.log?.append(instance, batch, this.membership.epoch);
      this.pending.remove(instance);
      this.nextToDeliver++;
      const next = stopSignIn(batch, this.membership);
      if (next) {
        // The stop-sign: this epoch ends here, and the next instance is the new epoch's first.
        this.pending.enterEpoch(next);
        this.epochStart = { instance: this.nextToDeliver, position: this.nextPosition };
        this.metrics.epochsEntered++;
      }
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
    if (this.pending.isDecided(head)) return false;
    return this.pending.decidedEnd > head + 1 || this.pending.chosenWithoutValue(head);
  }

  private requestCatchup(now: number): void {
    const to = Math.min(this.knownEnd, this.nextToDeliver + this.options.catchupMaxInstances);
    this.outbox.send(TO_PROPOSERS, { type: 'catchup', requester: this.self, from: this.nextToDeliver, to });
    this.requestedTo = to;
    this.lastRequestAt = now;
    this.metrics.catchupRequests++;
  }
}
