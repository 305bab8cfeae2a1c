/**
 * A learner worker's side of `learned()`: what its learner delivered, kept so that iterators can
 * replay from any held position, and streamed to each iterator's port with credit-based flow
 * control. Without trimming everything is held; with trimming the newest `replayKeep` values
 * plus whatever a live iterator still has to read (indexes stay absolute over what was let go).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Delivery, DeliveryGap } from '../protocol/role.js';
import { STREAM_FIELDS, type StreamReply, type StreamRequest } from './worker-protocol.js';

/** `expects`: the next position the iterator needs (it starts a jump's wait only below the jump). */
interface Subscription { port: MessagePort; next: number; credit: number; expects: number }

const STREAM_CHUNK = 1024;
/** Let go of replayed values in chunks of at least this many: slicing is O(held). */
const RELEASE_CHUNK = 4096;

export class LearnedFeed {
  /** The learner's deliveries as it made them (read-only objects: held, never copied). */
  private learned: Delivery[] = [];
  /** Values let go from the front. */
  private dropped = 0;
  /** Values this learner skipped because the log was trimmed before it caught up. */
  private skipped = 0;
  private readonly subscriptions = new Set<Subscription>();
  /** Where the learner last restored an application state: the absolute index it happened at, and the position it continued from. */
  private jump: { index: number; position: number } | undefined;

  /**
   * @param trimming whether the log is trimmed (then values are let go, and an iterator from
   *   before the held range is told so instead of seeing a silent gap)
   * @param position the learner's next position when the feed is made (where an empty feed starts)
   * @param stateAt where the learner's newest application state ends (`stateSnapshots`): values
   *   from there on are kept, so that a replica that restores that state can continue
   */
  constructor(
    private readonly trimming: boolean, private readonly replayKeep: number, position: number,
    private readonly stateAt: () => number = () => Infinity,
  ) {
    this.end = position;
  }

  /**
   * The position after the last delivery (or restore) handed to the feed. Not the learner's own
   * position: the learner runs ahead of the Readies its host has flushed to us.
   */
  private end: number;

  add(deliveries: readonly Delivery[]): void {
    if (deliveries.length === 0) return;
    for (const d of deliveries) this.learned.push(d);
    this.end = deliveries.at(-1)!.position + 1;
    for (const sub of this.subscriptions) this.pump(sub);
    if (this.trimming) this.releaseReplayed();
  }

  skip(gap: DeliveryGap): void {
    this.skipped += gap.toPosition - gap.fromPosition;
    this.end = Math.max(this.end, gap.toPosition);
  }

  /**
   * The learner restored an application state holding every value below `position` (those in
   * `deliveries` below it came first): streams continue at `position`, so an iterator that still
   * needed a value below it ends with `TrimmedError`, and a replica restores the state instead.
   */
  restored(deliveries: readonly Delivery[], position: number): void {
    const before = deliveries.filter((d) => d.position < position);
    this.add(before);
    const held = before.at(-1)?.position ?? this.learned.at(-1)?.position;
    this.skipped += position - (held === undefined ? 0 : held + 1);
    this.jump = { index: this.dropped + this.learned.length, position };
    this.end = Math.max(this.end, position);
    const after = deliveries.filter((d) => d.position >= position);
    if (after.length) this.add(after);
    else for (const sub of this.subscriptions) this.pump(sub);
  }

  /** Stream from `from` on through `port`; the port's credit requests pace it. */
  subscribe(port: MessagePort, from: number): void {
    const start = Math.max(0, from);
    const first = this.firstHeldPosition();
    if (this.trimming && start < first && (this.dropped > 0 || this.skipped > 0)) {
      port.postMessage({ numbers: new Float64Array(0), values: [], trimmedBelow: first } satisfies StreamReply);
      port.close();
      return;
    }
    const sub: Subscription = { port, next: this.indexOf(start), credit: 0, expects: start };
    this.subscriptions.add(sub);
    port.on('message', (m: StreamRequest) => {
      sub.credit += m.credit;
      this.pump(sub);
    });
    port.on('close', () => this.subscriptions.delete(sub));
  }

  close(): void {
    for (const sub of this.subscriptions) sub.port.close();
    this.subscriptions.clear();
  }

  counters(): Record<string, number> {
    return { subscriptions: this.subscriptions.size, valuesRetained: this.learned.length, valuesSkipped: this.skipped };
  }

  /** Absolute index of the first held value at or after `position` (positions skip over gaps). */
  private indexOf(position: number): number {
    let lo = 0;
    let hi = this.learned.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.learned[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return this.dropped + lo;
  }

  private firstHeldPosition(): number {
    return this.learned[0]?.position ?? this.end;
  }

  private pump(sub: Subscription): void {
    const end = this.dropped + this.learned.length;
    const jump = this.jump;
    if (sub.next === end && jump?.index === end && sub.expects < jump.position) {
      // It read everything before a restored state, and nothing follows yet: tell it now (with values after it, it sees the jump).
      sub.port.postMessage({ numbers: new Float64Array(0), values: [], trimmedBelow: jump.position } satisfies StreamReply);
      sub.port.close();
      this.subscriptions.delete(sub);
      return;
    }
    while (sub.credit > 0 && sub.next < end) {
      const n = Math.min(sub.credit, STREAM_CHUNK, end - sub.next);
      const from = sub.next - this.dropped;
      const numbers = new Float64Array(n * STREAM_FIELDS);
      const values = new Array<Delivery['value']>(n);
      for (let k = 0; k < n; k++) {
        const d = this.learned[from + k]!;
        const o = k * STREAM_FIELDS;
        numbers[o] = d.position;
        numbers[o + 1] = d.instance;
        numbers[o + 2] = d.client;
        numbers[o + 3] = d.seq;
        values[k] = d.value;
      }
      sub.expects = numbers[(n - 1) * STREAM_FIELDS]! + 1; // (before the transfer detaches `numbers`)
      sub.port.postMessage({ numbers, values } satisfies StreamReply, [numbers.buffer]);
      sub.next += n;
      sub.credit -= n;
    }
  }

  private releaseReplayed(): void {
    let keepFrom = this.dropped + this.learned.length - this.replayKeep;
    for (const sub of this.subscriptions) keepFrom = Math.min(keepFrom, sub.next);
    const state = this.stateAt();
    if (state !== Infinity) keepFrom = Math.min(keepFrom, this.indexOf(state));
    const release = keepFrom - this.dropped;
    if (release < Math.min(RELEASE_CHUNK, this.replayKeep)) return;
    this.learned = this.learned.slice(release);
    this.dropped += release;
  }
}
