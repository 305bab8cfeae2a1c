/**
 * Application state between learners (with `stateSnapshots`): what lets a learner that restarted
 * after the log was trimmed past it continue, instead of skipping the trimmed values.
 *
 * Taking a state: the learner marks a point (`mark`: where delivery stands now, with its
 * exactly-once filter), the application snapshots itself once it has applied every value below
 * that point, and hands the bytes back (`taken`). The learner holds the newest such state (and the
 * one before, so a transfer in progress survives one new snapshot), reports its instance in its
 * progress messages, and the leader trims no further than every gating learner's state
 * (`LogTrimmer`), so a trimmed prefix always survives in some state.
 *
 * Fetching one (Raft's InstallSnapshot, between learners): a learner told the log is trimmed
 * below `atLeast` asks every learner; each holding a state at or above it offers its chunk 0;
 * the first offer wins, and the rest is asked from that source a window at a time. A request
 * unanswered for `catchupMs` is asked again from the first missing chunk, and a source that sent
 * nothing for a leader timeout (at least `SOURCE_PATIENCE` requests) is presumed gone and
 * dropped for a new broadcast (where its own offer is passed over for a round, so that another
 * holder gets the turn). Chunks already held are kept while the same source's same state comes
 * back: a slow network restarts nothing. The whole is decoded
 * (state-blob.ts) and returned to the learner, which restores it.
 */
import type { DeliverySnapshot, StateChunkMessage, StateRequestMessage } from './messages.js';
import type { ResolvedOptions } from './options.js';
import { type Outbox } from './role.js';
import { type LearnerState, decodeState, encodeState } from './state-blob.js';

/** Chunks a source sends per request. */
const STATE_WINDOW = 8;
/** Request intervals (`catchupMs`) without a chunk before a fetch gives up on its source, at least (see `poll`). */
const SOURCE_PATIENCE = 4;
/** Marked points kept for the application to snapshot (it lags behind delivery). */
const POINTS_KEPT = 4;

const TO_LEARNERS = { group: 'learners' } as const;

interface HeldState {
  readonly instance: number;
  readonly position: number;
  readonly blob: Uint8Array;
  readonly chunks: number;
}

interface Fetch {
  atLeast: number;
  /** The chosen source, once an offer arrived; -1 before. */
  source: number;
  instance: number;
  have: (Uint8Array | undefined)[];
  received: number;
  /** One past the last chunk asked for. */
  askedTo: number;
  lastAskAt: number;
  /** When the chosen source last sent a chunk (or was chosen). */
  lastChunkAt: number;
  /** A source that went silent: its offers are passed over for one round, so another one gets a turn. */
  shunned: number;
  /** The source `have` holds chunks of (kept across a drop, in case the same state is chosen again). */
  lastSource: number;
}

export class StateTransfer {
  private held: HeldState | undefined;
  private previous: HeldState | undefined;
  private readonly points = new Map<number, DeliverySnapshot>();
  private fetch: Fetch | undefined;
  readonly metrics = { statesTaken: 0, statesOffered: 0, stateChunksSent: 0, statesRestored: 0, statesLoaded: 0 };

  constructor(private readonly id: number, private readonly options: ResolvedOptions, private readonly outbox: Outbox) {}

  /** The instance of the newest state held (0: none). */
  get heldAt(): number {
    return this.held?.instance ?? 0;
  }

  /** Where the newest state held ends (its delivery position), or undefined. */
  get heldPosition(): number | undefined {
    return this.held?.position;
  }

  /** The newest state held, as bytes (for the host to persist), or undefined. */
  get heldBlob(): Uint8Array | undefined {
    return this.held?.blob;
  }

  get fetching(): boolean {
    return this.fetch !== undefined;
  }

  /** Remember where delivery stands, for a state the application will take there. */
  mark(delivery: DeliverySnapshot): void {
    this.points.set(delivery.instance, delivery);
    if (this.points.size > POINTS_KEPT) this.points.delete(this.points.keys().next().value!);
  }

  /** The application's bytes at the point marked at `instance`; false if that point is unknown or not newer. */
  taken(instance: number, app: Uint8Array): boolean {
    const delivery = this.points.get(instance);
    if (!delivery || instance <= this.heldAt) return false;
    for (const k of [...this.points.keys()]) if (k <= instance) this.points.delete(k);
    this.hold(encodeState({ delivery, app }), delivery);
    this.metrics.statesTaken++;
    return true;
  }

  /** Hold `blob` (the state of `delivery`) as the newest state, if it is newer. */
  hold(blob: Uint8Array, delivery: DeliverySnapshot): void {
    if (delivery.instance <= this.heldAt) return;
    this.previous = this.held;
    this.held = { instance: delivery.instance, position: delivery.position, blob, chunks: Math.max(1, Math.ceil(blob.byteLength / this.options.stateChunkBytes)) };
  }

  /** A state the host persisted, loaded at a restart. */
  load(blob: Uint8Array, delivery: DeliverySnapshot): void {
    this.hold(blob, delivery);
    this.metrics.statesLoaded++;
  }

  /** The log is trimmed below `atLeast` here: fetch a state at or above it (unless one is on its way). */
  want(atLeast: number, now: number): void {
    if (this.fetch && this.fetch.atLeast >= atLeast) return;
    this.fetch = { atLeast, source: -1, instance: 0, have: [], received: 0, askedTo: 0, lastAskAt: now, lastChunkAt: now, shunned: -1, lastSource: -1 };
    this.ask(now);
  }

  serve(m: StateRequestMessage): void {
    if (m.requester === this.id) return;
    if (m.source === -1) {
      if (this.held && this.held.instance >= m.atLeast) {
        this.send(m.requester, this.held, 0, 1);
        this.metrics.statesOffered++;
      }
      return;
    }
    if (m.source !== this.id) return;
    const state = [this.held, this.previous].find((s) => s?.instance === m.instance);
    if (state) {
      this.send(m.requester, state, m.chunk, Math.min(state.chunks, m.chunk + STATE_WINDOW));
    } else if (this.held && this.held.instance >= m.atLeast) {
      this.send(m.requester, this.held, 0, 1); // that one is gone: offer the newest instead
    }
  }

  /** A chunk arrived; returns the whole state once it is complete (the fetch is then over). */
  receive(m: StateChunkMessage, now: number): LearnerState | undefined {
    const f = this.fetch;
    if (!f || m.instance < f.atLeast || m.chunks < 1) return undefined;
    const offerFromSource = m.chunk === 0 && (f.source === -1 ? m.learner !== f.shunned : f.source === m.learner && m.instance !== f.instance);
    if (offerFromSource) {
      // The same state of the same source again (it was dropped as silent): keep what arrived of it.
      const same = f.lastSource === m.learner && f.instance === m.instance && f.have.length === m.chunks;
      Object.assign(f, { source: m.learner, lastSource: m.learner, instance: m.instance, lastChunkAt: now },
        same ? {} : { have: new Array<Uint8Array | undefined>(m.chunks), received: 0, askedTo: 1 });
    }
    if (m.learner !== f.source || m.instance !== f.instance || m.chunks !== f.have.length || f.have[m.chunk]) return undefined;
    f.have[m.chunk] = m.data;
    f.received++;
    f.lastChunkAt = now;
    if (f.received === f.have.length) return this.complete(f, now);
    if (this.firstMissing(f) >= f.askedTo) this.ask(now);
    return undefined;
  }

  /** Ask again what a silent source did not send. */
  poll(now: number): void {
    const f = this.fetch;
    if (!f || now - f.lastAskAt < this.options.catchupMs) return;
    const patience = Math.max(this.options.leaderTimeoutMs, SOURCE_PATIENCE * this.options.catchupMs);
    if (f.source === -1) f.shunned = -1; // a round without an offer taken: anyone will do
    else if (now - f.lastChunkAt >= patience) Object.assign(f, { shunned: f.source, source: -1 });
    this.ask(now);
  }

  private complete(f: Fetch, now: number): LearnerState | undefined {
    let length = 0;
    for (const c of f.have) length += c!.byteLength;
    const blob = new Uint8Array(length);
    let at = 0;
    for (const c of f.have) {
      blob.set(c!, at);
      at += c!.byteLength;
    }
    const state = decodeState(blob);
    if (!state || state.delivery.instance !== f.instance) {
      Object.assign(f, { source: -1, have: [], received: 0 }); // not a state: ask around again
      this.ask(now);
      return undefined;
    }
    this.fetch = undefined;
    this.hold(blob, state.delivery);
    this.metrics.statesRestored++;
    return state;
  }

  private firstMissing(f: Fetch): number {
    let k = 0;
    while (k < f.have.length && f.have[k]) k++;
    return k;
  }

  private ask(now: number): void {
    const f = this.fetch!;
    f.lastAskAt = now;
    if (f.source === -1) {
      this.outbox.send(TO_LEARNERS, { type: 'stateRequest', requester: this.id, atLeast: f.atLeast, source: -1, instance: 0, chunk: 0 });
      return;
    }
    const chunk = this.firstMissing(f);
    f.askedTo = Math.min(f.have.length, chunk + STATE_WINDOW);
    this.outbox.send({ group: 'learners', member: f.source }, {
      type: 'stateRequest', requester: this.id, atLeast: f.atLeast, source: f.source, instance: f.instance, chunk,
    });
  }

  private send(to: number, state: HeldState, from: number, end: number): void {
    const size = this.options.stateChunkBytes;
    for (let chunk = from; chunk < end; chunk++) {
      // A copy per chunk: a view would carry (and a structured clone would copy) the whole blob.
      const data = state.blob.slice(chunk * size, (chunk + 1) * size);
      this.outbox.send({ group: 'learners', member: to }, { type: 'stateChunk', learner: this.id, instance: state.instance, chunk, chunks: state.chunks, data });
      this.metrics.stateChunksSent++;
    }
  }
}
