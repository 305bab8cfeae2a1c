/**
 * Exactly-once delivery. A value can reach the log twice: a client retransmits it, or two
 * leaders both propose it. Every learner applies this filter to the same decided sequence, so
 * every learner drops the same duplicates and positions agree everywhere.
 *
 * Clients open a *session* first: a registration entry in the log, whose delivery issues the
 * next session key (1, 2, 3, ...), so keys are unique by construction and every learner knows
 * every key below `nextClient` was issued. State per session is a watermark plus the seqs
 * delivered above it. A session no instance has touched for `sessionIdleInstances` instances is
 * retired, and so is the least recently active one when more than `maxSessions` are open: this
 * bounds memory and snapshots. A value of a retired session is refused, never delivered, and the
 * leader tells its client `SESSION_EXPIRED`: the deduplication window is documented, not silent
 * (as the Raft dissertation's client sessions, Kafka's producer-id expiry, NATS' duplicate window).
 */
import type { ClientMark, DeliverySnapshot } from './messages.js';

interface Session {
  /** Every seq below this one has been delivered (or precedes the session). */
  low: number;
  above: Set<number>;
  /** Instance that last delivered a value of this session, or registered it. */
  active: number;
}

/** What the filter says of one (client, seq). */
export type Admission = 'new' | 'duplicate' | 'expired';

/** Retirement of idle sessions is checked at instances that are multiples of this. */
const RETIRE_CHECK_EVERY = 64;

export interface SessionLimits {
  readonly sessionIdleInstances: number;
  readonly maxSessions: number;
}

export class DeliveryFilter {
  /** Insertion order = registration order; `touch` moves a session to the end (LRU order). */
  private readonly sessions = new Map<number, Session>();
  private nextClient = 1;

  constructor(private readonly limits: SessionLimits) {}

  /** Deliver (client, seq) at `instance` if it is new; say why not otherwise. */
  admit(client: number, seq: number, instance: number): Admission {
    const s = this.sessions.get(client);
    if (!s) return 'expired';
    if (seq < s.low || s.above.has(seq)) return 'duplicate';
    if (seq === s.low) {
      s.low++;
      while (s.above.delete(s.low)) s.low++;
    } else {
      s.above.add(seq);
    }
    this.touch(client, s, instance);
    return 'new';
  }

  /**
   * What `admit` would say, without admitting; except that a key this filter has not issued yet
   * is 'new' (the log holds its registration, this filter has not got there yet).
   */
  check(client: number, seq: number): Admission {
    const s = this.sessions.get(client);
    if (!s) return client >= this.nextClient ? 'new' : 'expired';
    return seq < s.low || s.above.has(seq) ? 'duplicate' : 'new';
  }

  /** Open a session whose first seq is `firstSeq`; returns its key. */
  register(firstSeq: number, instance: number): number {
    const client = this.nextClient++;
    this.sessions.set(client, { low: firstSeq, above: new Set(), active: instance });
    if (this.sessions.size > this.limits.maxSessions) {
      // Least recently active first: Map iteration order, as `touch` re-inserts.
      const oldest = this.sessions.keys().next().value as number;
      this.sessions.delete(oldest);
    }
    return client;
  }

  /** Called before delivering each instance: retire sessions idle for the window. */
  beforeInstance(instance: number): void {
    if (instance % RETIRE_CHECK_EVERY !== 0) return;
    const idleBefore = instance - this.limits.sessionIdleInstances;
    for (const [client, s] of this.sessions) {
      if (s.active >= idleBefore) break; // LRU order: every later session is more recent
      this.sessions.delete(client);
    }
  }

  /** The filter's state as plain data (for a delivery snapshot), in LRU order. */
  marks(): ClientMark[] {
    return [...this.sessions].map(([client, s]) => ({ client, low: s.low, above: [...s.above], active: s.active }));
  }

  get nextClientKey(): number {
    return this.nextClient;
  }

  static restore(snapshot: DeliverySnapshot, limits: SessionLimits): DeliveryFilter {
    const filter = new DeliveryFilter(limits);
    filter.nextClient = snapshot.nextClient;
    for (const m of snapshot.clients) filter.sessions.set(m.client, { low: m.low, above: new Set(m.above), active: m.active });
    return filter;
  }

  /** Sessions tracked. */
  get size(): number {
    return this.sessions.size;
  }

  private touch(client: number, s: Session, instance: number): void {
    if (s.active === instance) return;
    s.active = instance;
    this.sessions.delete(client);
    this.sessions.set(client, s);
  }
}
