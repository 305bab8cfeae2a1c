/**
 * What acceptor records mean — defined here once. The acceptor changes its own state only by
 * applying the records it logs (so memory and disk can never disagree on a meaning), recovery
 * replays them (`applyAcceptorRecords`), and the stores keep their live state with them: O(1) per
 * promise or accept, O(live state) per trim.
 */
import { type Ballot, ZERO_BALLOT, compareBallots } from './ballot.js';
import type { AcceptedEntry, Batch, DeliverySnapshot } from './messages.js';

/** Everything an acceptor must keep across a restart to stay safe. Plain data. */
export interface AcceptorState {
  promised: Ballot;
  accepted: AcceptedEntry[];
  /** Set once the acceptor trimmed: every instance below `trimmed.instance` is forgotten. */
  trimmed?: DeliverySnapshot;
}

/**
 * One change to an acceptor's durable state. A durable runtime appends the records of a step to
 * stable storage and sends that step's answers only once they are synced: an answer must never
 * promise more than the disk remembers.
 */
export type AcceptorRecord =
  | { readonly kind: 'promise'; readonly ballot: Ballot }
  | { readonly kind: 'accept'; readonly instance: number; readonly ballot: Ballot; readonly batch: Batch }
  | { readonly kind: 'trim'; readonly snapshot: DeliverySnapshot };

/** The acceptor state a log describes, kept up to date as records are appended. */
export class LiveState {
  promised: Ballot = ZERO_BALLOT;
  /** By instance, in the order instances were first accepted (as `applyAcceptorRecords` keeps it). */
  readonly accepted = new Map<number, AcceptedEntry>();
  trimmed: DeliverySnapshot | undefined;

  /** A live copy of `state` (its entries are shared, never mutated). */
  static of(state: AcceptorState): LiveState {
    const live = new LiveState();
    live.promised = state.promised;
    for (const e of state.accepted) live.accepted.set(e.instance, e);
    live.trimmed = state.trimmed;
    return live;
  }

  /** Applies one record: the meaning of acceptor records. */
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

  /** The state as plain data. */
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

/** Replays records onto a state (recovery from a log). Pure; returns a new state. */
export function applyAcceptorRecords(state: AcceptorState, records: readonly AcceptorRecord[]): AcceptorState {
  const live = LiveState.of(state);
  for (const r of records) live.apply(r);
  return live.toState();
}
