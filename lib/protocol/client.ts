/**
 * Client: opens a session, gives each value an exactly-once identity (session key, seq), sends
 * it to the proposers, and keeps resending it until the leader reports its position in the
 * total order. Values submitted within one runtime turn travel together in one `submit` message.
 *
 * The session key comes from the log itself: the client submits a registration carrying a
 * random nonce, and the leader answers with the key its delivery issued (`registered`). Keys
 * are therefore unique by construction, however often a client restarts. Values submitted
 * before the answer wait for it. A session the log retired as idle (see `DeliveryFilter`)
 * ends every value still pending with `SESSION_EXPIRED` (outcome unknown, never delivered twice)
 * and opens a new one for the values that follow.
 */
import type { BarrierPassedMessage, CommittedMessage, Message, Payload, RegisteredMessage, Submission } from './messages.js';
import { MAX_BARRIER_TOKENS, REGISTRATION_CLIENT, SESSION_EXPIRED, SUBMISSION_OVERHEAD, payloadSize } from './messages.js';
import { type Completion, type PassedBarrier, type Ready, type Role, type RoleStatus, EMPTY_READY, NONE, Outbox, TO_PROPOSERS } from './role.js';

export type { Completion } from './role.js';
import type { ResolvedOptions } from './options.js';

export interface ClientSettings {
  /**
   * Draws a registration nonce: at least 64 random bits as 16 to 64 characters (the runtime
   * injects it, e.g. 16 random bytes in hex). It only tells this client's registration apart
   * from concurrent ones; session keys themselves are unique by construction.
   */
  nonce: () => string;
}

const MAX_BACKOFF = 8;

interface PendingValue {
  readonly seq: number;
  readonly value: Payload;
  readonly size: number;
  sentAt: number;
}

interface PendingRegistration {
  readonly nonce: string;
  readonly firstSeq: number;
  sentAt: number | undefined;
}

export class Client implements Role {
  readonly group = 'clients' as const;
  private nextSeq = 0;
  /** Every seq below this has completed. */
  private completedBelow = 0;
  /** The session key, once the log issued it. */
  private key: number | undefined;
  private registration: PendingRegistration | undefined;
  /** Undecided values, in order of their last send (re-inserted on resend), so the stalest come first. */
  private readonly pending = new Map<number, PendingValue>();
  private unsent: PendingValue[] = [];
  private completions: Completion[] = [];
  /** Read barriers asked and not yet answered: token → when last sent (undefined: send with the next Ready). */
  private readonly barriers = new Map<string, number | undefined>();
  private passed: PassedBarrier[] = [];
  private readonly outbox = new Outbox();
  /** Current resend interval: `clientRetryMs`, doubled per unanswered resend round, up to 8×. */
  private retryMs: number;
  private lastNow = -Infinity;
  /** When the log last answered us (a registration or one of our values). */
  private lastAnswerAt = -Infinity;
  readonly metrics = { submitted: 0, completed: 0, expired: 0, sessions: 0, retransmissions: 0, overtakenResends: 0, pending: 0, barriers: 0, dropped: 0 };

  /** @param id the configured client id (names it in logs; the session key identifies its values) */
  constructor(readonly id: number, private readonly options: ResolvedOptions, private readonly settings: ClientSettings) {
    this.retryMs = options.clientRetryMs;
    this.openSession();
  }

  /** The current session's key, once registered (values travel under it). */
  get session(): number | undefined {
    return this.key;
  }

  /**
   * Queue a value; it is sent with the next Ready (once the session is open). Returns its seq.
   * @throws ValueTooLargeError when the value alone exceeds `batchMaxBytes`: no instance could carry it.
   */
  submit(value: Payload, now: number): number {
    this.lastNow = now;
    const size = SUBMISSION_OVERHEAD + payloadSize(value);
    if (size > this.options.batchMaxBytes) throw new ValueTooLargeError(size - SUBMISSION_OVERHEAD, this.options.batchMaxBytes - SUBMISSION_OVERHEAD);
    // Idle for long, the session may have retired meanwhile: with nothing pending, a fresh one
    // costs one registration and no value's outcome becomes unknown.
    if (this.key !== undefined && this.pending.size === 0 && now - this.lastAnswerAt >= this.options.sessionRenewMs) this.openSession();
    const seq = this.nextSeq++;
    const pending: PendingValue = { seq, value, size, sentAt: now };
    this.pending.set(seq, pending);
    if (this.key !== undefined) this.unsent.push(pending);
    this.metrics.submitted++;
    this.metrics.pending = this.pending.size;
    return seq;
  }

  /**
   * Ask for a read barrier (read index): the answer, a `PassedBarrier` in a later Ready, carries
   * a position such that every value decided before this call is below it. Needs no session.
   * `token` names it (drawn by the runtime, 16 to 64 characters, as a nonce).
   */
  barrier(token: string, now: number): void {
    this.lastNow = now;
    this.barriers.set(token, undefined);
    this.metrics.barriers++;
  }

  /** Values submitted and not yet decided. */
  get pendingCount(): number {
    return this.pending.size;
  }

  handle(message: Message, now: number): void {
    this.lastNow = now;
    if (message.type === 'committed') this.onCommitted(message, now);
    else if (message.type === 'registered') this.onRegistered(message, now);
    else if (message.type === 'barrierPassed') this.onBarrierPassed(message);
    else this.metrics.dropped++;
  }

  tick(now: number): void {
    this.lastNow = now;
    // Barriers unanswered for the base retry interval are asked again (the leader may have changed).
    for (const [token, sentAt] of this.barriers) {
      if (sentAt !== undefined && now - sentAt >= this.options.clientRetryMs) this.barriers.set(token, undefined);
    }
    const r = this.registration;
    if (r) {
      if (r.sentAt !== undefined && now - r.sentAt >= this.retryMs) {
        r.sentAt = undefined; // resent with the next Ready
        this.metrics.retransmissions++;
        this.backOff();
      }
      return;
    }
    let resent = 0;
    for (const [seq, p] of this.pending) {
      if (now - p.sentAt < this.retryMs) break;
      this.pending.delete(seq);
      p.sentAt = now;
      this.pending.set(seq, p);
      this.unsent.push(p);
      resent++;
    }
    if (resent === 0) return;
    this.metrics.retransmissions += resent;
    this.backOff();
  }

  takeReady(): Ready {
    const r = this.registration;
    if (r && r.sentAt === undefined) {
      r.sentAt = this.lastNow;
      const entry: Submission = { client: REGISTRATION_CLIENT, seq: r.firstSeq, value: r.nonce };
      this.outbox.send(TO_PROPOSERS, { type: 'submit', client: REGISTRATION_CLIENT, completedBelow: 0, values: [entry] });
    }
    if (this.unsent.length && this.key !== undefined) this.packUnsent(this.key);
    this.sendBarriers();
    if (this.outbox.size === 0 && this.completions.length === 0 && this.passed.length === 0) return EMPTY_READY;
    const ready: Ready = { writes: NONE, messages: this.outbox.take(), deliveries: NONE, gaps: NONE, completions: this.completions };
    this.completions = [];
    if (this.passed.length === 0) return ready;
    const barriers = this.passed;
    this.passed = [];
    return { ...ready, barriers };
  }

  counters(): Record<string, number> {
    return { ...this.metrics };
  }

  status(): RoleStatus {
    return { pending: this.pending.size };
  }

  /** Back off while resends go unanswered, so a slow leader is not buried under them. */
  private backOff(): void {
    this.retryMs = Math.min(this.retryMs * 2, this.options.clientRetryMs * MAX_BACKOFF);
  }

  private openSession(): void {
    this.key = undefined;
    this.unsent = [];
    this.registration = { nonce: this.settings.nonce(), firstSeq: this.nextSeq, sentAt: undefined };
    this.metrics.sessions++;
  }

  private onRegistered(m: RegisteredMessage, now: number): void {
    if (!this.registration || m.nonce !== this.registration.nonce) return;
    this.registration = undefined;
    this.key = m.client;
    this.retryMs = this.options.clientRetryMs;
    this.lastAnswerAt = now;
    // Everything submitted meanwhile goes out now, in seq order.
    for (const p of this.pending.values()) {
      p.sentAt = now;
      this.unsent.push(p);
    }
  }

  private onCommitted(m: CommittedMessage, now: number): void {
    const key = this.key;
    if (key === undefined) return;
    let mine = false;
    /** The latest send among the values this notice completes. */
    let ackedSentAt = -Infinity;
    for (const e of m.entries) {
      if (e.client !== key) continue;
      mine = true;
      if (e.position === SESSION_EXPIRED) {
        this.expireSession();
        break;
      }
      const p = this.pending.get(e.seq);
      if (!p) continue;
      this.pending.delete(e.seq);
      if (p.sentAt > ackedSentAt) ackedSentAt = p.sentAt;
      p.sentAt = -1;
      this.completions.push({ seq: e.seq, position: e.position });
      this.metrics.completed++;
    }
    // Only answers to us show the leader keeps up: others' acks must not cut our backoff short.
    if (mine) {
      this.retryMs = this.options.clientRetryMs;
      this.lastAnswerAt = now;
    }
    while (this.completedBelow < this.nextSeq && !this.pending.has(this.completedBelow)) this.completedBelow++;
    if (this.key !== undefined) this.resendOvertaken(ackedSentAt, now);
    this.metrics.pending = this.pending.size;
  }

  /**
   * Values sent before one that is now decided were most likely lost on the way (their submit or
   * their commit notice): the leader orders and answers in delivery order. Resend them at once
   * instead of waiting out the retry interval — recovery resends what is missing, and a value
   * that was only late costs a duplicate the leader answers from memory. No backoff: this is not
   * a leader that fails to answer.
   */
  private resendOvertaken(sentBefore: number, now: number): void {
    let resent = 0;
    // `pending` is in order of last send; a value resent here moves to the end with `now`, which ends the loop.
    for (const [seq, p] of this.pending) {
      if (p.sentAt >= sentBefore) break;
      this.pending.delete(seq);
      p.sentAt = now;
      this.pending.set(seq, p);
      this.unsent.push(p);
      resent++;
    }
    this.metrics.retransmissions += resent;
    this.metrics.overtakenResends += resent;
  }

  private sendBarriers(): void {
    let tokens: string[] = [];
    for (const [token, sentAt] of this.barriers) {
      if (sentAt !== undefined) continue;
      this.barriers.set(token, this.lastNow);
      tokens.push(token);
      if (tokens.length === MAX_BARRIER_TOKENS) {
        this.outbox.send(TO_PROPOSERS, { type: 'barrier', tokens });
        tokens = [];
      }
    }
    if (tokens.length) this.outbox.send(TO_PROPOSERS, { type: 'barrier', tokens });
  }

  private onBarrierPassed(m: BarrierPassedMessage): void {
    for (const token of m.tokens) {
      if (this.barriers.delete(token)) this.passed.push({ token, position: m.position });
    }
  }

  /** The log retired our session: whatever is pending has an unknown outcome; start over. */
  private expireSession(): void {
    for (const p of this.pending.values()) {
      p.sentAt = -1;
      this.completions.push({ seq: p.seq, position: SESSION_EXPIRED });
      this.metrics.expired++;
    }
    this.pending.clear();
    this.openSession();
  }

  private packUnsent(key: number): void {
    const { batchMaxBytes, batchMaxValues } = this.options;
    let values: Submission[] = [];
    let bytes = 0;
    for (const p of this.unsent) {
      if (p.sentAt < 0) continue; // completed while waiting to be sent
      if (values.length && (bytes + p.size > batchMaxBytes || values.length >= batchMaxValues)) {
        this.sendValues(key, values);
        values = [];
        bytes = 0;
      }
      values.push({ client: key, seq: p.seq, value: p.value });
      bytes += p.size;
    }
    if (values.length) this.sendValues(key, values);
    this.unsent = [];
  }

  private sendValues(key: number, values: Submission[]): void {
    this.outbox.send(TO_PROPOSERS, { type: 'submit', client: key, completedBelow: this.completedBelow, values });
  }
}

/** A value larger than any batch may be: raise `batchMaxBytes` (within the transport's limit) or split it. */
export class ValueTooLargeError extends Error {
  readonly code = 'ERR_PAXOS_VALUE_TOO_LARGE';
  constructor(readonly size: number, readonly limit: number) {
    super(`value of ${size} bytes exceeds the ${limit}-byte limit (batchMaxBytes minus framing)`);
    this.name = 'ValueTooLargeError';
  }
}
