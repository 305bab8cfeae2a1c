/**
 * Exactly-once delivery. A value can reach the log twice: a client retransmits it, or two
 * leaders both propose it. Every learner applies this filter to the same decided sequence, so
 * every learner drops the same duplicates and positions agree everywhere.
 *
 * State per client incarnation is a watermark plus the seqs delivered above it; a client keeps
 * at most its window outstanding, so the set stays that small.
 */
import type { ClientMark } from './messages.js';

interface ClientWatermark {
  /** Every seq below this one has been delivered. */
  low: number;
  above: Set<number>;
}

export class DeliveryFilter {
  private readonly clients = new Map<number, ClientWatermark>();

  /** True the first time (client, seq) is seen; false for every repeat. */
  admit(client: number, seq: number): boolean {
    let mark = this.clients.get(client);
    if (!mark) {
      mark = { low: 0, above: new Set() };
      this.clients.set(client, mark);
    }
    if (seq < mark.low || mark.above.has(seq)) return false;
    if (seq === mark.low) {
      mark.low++;
      while (mark.above.delete(mark.low)) mark.low++;
    } else {
      mark.above.add(seq);
    }
    return true;
  }

  has(client: number, seq: number): boolean {
    const mark = this.clients.get(client);
    return mark !== undefined && (seq < mark.low || mark.above.has(seq));
  }

  /** The filter's state as plain data (for a delivery snapshot). */
  snapshot(): ClientMark[] {
    return [...this.clients].map(([client, m]) => ({ client, low: m.low, above: [...m.above] }));
  }

  static restore(marks: readonly ClientMark[]): DeliveryFilter {
    const filter = new DeliveryFilter();
    for (const m of marks) filter.clients.set(m.client, { low: m.low, above: new Set(m.above) });
    return filter;
  }

  /** Clients tracked (one entry per client incarnation ever seen). */
  get size(): number {
    return this.clients.size;
  }
}
