/**
 * The acceptor state a sequence of storage records describes, kept up to date record by record.
 *
 * The meaning of records is defined once, by the core's `applyAcceptorRecords`
 * (lib/protocol/acceptor.ts). That function is pure and copies the state on every call, which is
 * right for recovery but O(live state) per call; the store applies every appended batch of
 * records (once per turn of the acceptor), so it keeps this incremental twin instead: O(1) per
 * promise or accept, O(live state) per trim, exactly as the core function. A property test
 * (test/storage/state.test.ts) checks that random record sequences give identical states,
 * including the order of `accepted`, through both.
 */
import { type Ballot, ZERO_BALLOT, compareBallots } from '../protocol/ballot.js';
import type { AcceptorRecord, AcceptorState } from '../protocol/acceptor.js';
import type { AcceptedEntry, DeliverySnapshot } from '../protocol/messages.js';

/** The acceptor state a log describes, kept up to date as records are appended. */
export class LiveState {
  promised: Ballot = ZERO_BALLOT;
  /** By instance, in the order instances were first accepted (as `applyAcceptorRecords` keeps it). */
  readonly accepted = new Map<number, AcceptedEntry>();
  trimmed: DeliverySnapshot | undefined;

  /** Applies one record, with the semantics of `applyAcceptorRecords`. */
  apply(r: AcceptorRecord): void {
    switch (r.kind) {
      case 'trim': {
        // A trim never moves back; a later accept below the trim point is ignored.
        if (this.trimmed && this.trimmed.instance >= r.snapshot.instance) return;
        this.trimmed = r.snapshot;
        const below = r.snapshot.instance;
        for (const instance of this.accepted.keys()) if (instance < below) this.accepted.delete(instance);
        return;
      }
      case 'promise':
        if (compareBallots(r.ballot, this.promised) > 0) this.promised = r.ballot;
        return;
      case 'accept':
        // An accept implies a promise of its ballot (the acceptor raises its promise to accept).
        if (compareBallots(r.ballot, this.promised) > 0) this.promised = r.ballot;
        if (this.trimmed && r.instance < this.trimmed.instance) return;
        this.accepted.set(r.instance, { instance: r.instance, ballot: r.ballot, batch: r.batch });
        return;
      default:
        throw new TypeError(`unknown record kind ${(r as { kind: unknown }).kind}`);
    }
  }

  /** The state as the core's plain data (what `applyAcceptorRecords` would return). */
  toState(): AcceptorState {
    return { promised: this.promised, accepted: [...this.accepted.values()], ...(this.trimmed ? { trimmed: this.trimmed } : {}) };
  }

  /**
   * The fewest records that rebuild this state exactly (the order of `accepted` included), in
   * replay order: the trim, the promise, then every live accept. Compaction writes these.
   */
  records(): AcceptorRecord[] {
    const out: AcceptorRecord[] = [];
    if (this.trimmed) out.push({ kind: 'trim', snapshot: this.trimmed });
    if (compareBallots(this.promised, ZERO_BALLOT) > 0) out.push({ kind: 'promise', ballot: this.promised });
    for (const e of this.accepted.values()) out.push({ kind: 'accept', instance: e.instance, ballot: e.ballot, batch: e.batch });
    return out;
  }
}
