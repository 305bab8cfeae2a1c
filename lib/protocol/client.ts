/**
 * Client: gives each value an exactly-once identity (client incarnation, seq), sends it to the
 * proposers, and keeps resending it until the leader reports its position in the total order.
 * Values submitted within one runtime turn travel together in one `submit` message.
 */
import type { CommittedMessage, Message, Outgoing, Payload, Submission } from './messages.js';
import { SUBMISSION_OVERHEAD, submissionSize } from './messages.js';
import { type ProtocolNode, Outbox, TO_PROPOSERS } from './node.js';
import type { ResolvedOptions } from './options.js';

export interface Completion {
  readonly seq: number;
  /** 0-based index of the value in the delivered total order. */
  readonly position: number;
}

const MAX_BACKOFF = 8;

interface PendingValue {
  submission: Submission;
  size: number;
  sentAt: number;
}

export class Client implements ProtocolNode {
  readonly group = 'clients' as const;
  private nextSeq = 0;
  /** Every seq below this has completed. */
  private completedBelow = 0;
  /** Undecided values, in order of their last send (re-inserted on resend), so the stalest come first. */
  private readonly pending = new Map<number, PendingValue>();
  private unsent: PendingValue[] = [];
  private completions: Completion[] = [];
  private readonly outbox = new Outbox();
  /** Current resend interval: `clientRetryMs`, doubled per unanswered resend round, up to 8×. */
  private retryMs: number;
  readonly metrics = { submitted: 0, completed: 0, retransmissions: 0, pending: 0, dropped: 0 };

  /**
   * @param id the configured client id
   * @param key this incarnation's unique key (see `nodeKey`): seqs restart at 0 with every key
   */
  constructor(readonly id: number, readonly key: number, private readonly options: ResolvedOptions) {
    this.retryMs = options.clientRetryMs;
  }

  /**
   * Queue a value; it is sent with the next `takeOutgoing`. Returns its seq.
   * @throws ValueTooLargeError when the value alone exceeds `batchMaxBytes`: no instance could carry it.
   */
  submit(value: Payload, now: number): number {
    const submission: Submission = { client: this.key, seq: this.nextSeq, value };
    const size = submissionSize(submission);
    if (size > this.options.batchMaxBytes) throw new ValueTooLargeError(size - SUBMISSION_OVERHEAD, this.options.batchMaxBytes - SUBMISSION_OVERHEAD);
    const seq = this.nextSeq++;
    const pending: PendingValue = { submission, size, sentAt: now };
    this.pending.set(seq, pending);
    this.unsent.push(pending);
    this.metrics.submitted++;
    this.metrics.pending = this.pending.size;
    return seq;
  }

  /** Values submitted and not yet decided. */
  get pendingCount(): number {
    return this.pending.size;
  }

  handle(message: Message): void {
    if (message.type !== 'committed') {
      this.metrics.dropped++;
      return;
    }
    this.onCommitted(message);
  }

  tick(now: number): void {
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
    // Back off while resends go unanswered, so a slow leader is not buried under them.
    this.retryMs = Math.min(this.retryMs * 2, this.options.clientRetryMs * MAX_BACKOFF);
  }

  takeOutgoing(): Outgoing[] {
    if (this.unsent.length) this.packUnsent();
    return this.outbox.take();
  }

  /** Values decided since the last call. */
  takeCompletions(): Completion[] {
    const taken = this.completions;
    this.completions = [];
    return taken;
  }

  private onCommitted(m: CommittedMessage): void {
    this.retryMs = this.options.clientRetryMs;
    for (const e of m.entries) {
      if (e.client !== this.key) continue;
      const p = this.pending.get(e.seq);
      if (!p) continue;
      this.pending.delete(e.seq);
      p.sentAt = -1;
      this.completions.push({ seq: e.seq, position: e.position });
      this.metrics.completed++;
    }
    while (this.completedBelow < this.nextSeq && !this.pending.has(this.completedBelow)) this.completedBelow++;
    this.metrics.pending = this.pending.size;
  }

  private packUnsent(): void {
    const { batchMaxBytes, batchMaxValues } = this.options;
    let values: Submission[] = [];
    let bytes = 0;
    for (const p of this.unsent) {
      if (p.sentAt < 0) continue; // completed while waiting to be sent
      if (values.length && (bytes + p.size > batchMaxBytes || values.length >= batchMaxValues)) {
        this.sendValues(values);
        values = [];
        bytes = 0;
      }
      values.push(p.submission);
      bytes += p.size;
    }
    if (values.length) this.sendValues(values);
    this.unsent = [];
  }

  private sendValues(values: Submission[]): void {
    this.outbox.send(TO_PROPOSERS, { type: 'submit', client: this.key, completedBelow: this.completedBelow, values });
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
