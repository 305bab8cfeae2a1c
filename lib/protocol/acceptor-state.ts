/**
 * What acceptor records mean — defined here once. The acceptor changes its own state only by
 * applying the records it logs (so memory and disk can never disagree on a meaning), recovery
 * replays them (`applyAcceptorRecords`), and the stores keep their live state with them: O(1) per
 * promise or accept, O(live state) per trim.
 */
import { type Ballot, ZERO_BALLOT, compareBallots } from './ballot.js';
import type { AcceptedEntry, Batch, DeliverySnapshot } from './messages.js';
import { epochOf } from './membership.js';

/**
 * Everything an acceptor must keep across a restart to stay safe. Plain data.
 *
 * Promises are kept per epoch (see membership.ts): each epoch is a Paxos of its own over its own
 * ballots, so a promise in a later epoch does not bar a proposer that recovers an earlier epoch's
 * log (one restarted without memory) from running that epoch's phase 1 again. `promised` is the
 * highest promise of all (the newest epoch's); `earlierPromises`, the highest of each earlier
 * epoch that had one.
 */
export interface AcceptorState {
  promised: Ballot;
  earlierPromises?: Ballot[];
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
  /** The highest promise of each epoch that had one. */
  private readonly promises = new Map<number, Ballot>();
  /** The highest promise of all. */
  promised: Ballot = ZERO_BALLOT;
  /** By instance, in the order instances were first accepted (as `applyAcceptorRecords` keeps it). */
  readonly accepted = new Map<number, AcceptedEntry>();
  trimmed: DeliverySnapshot | undefined;

  /** A live copy of `state` (its entries are shared, never mutated). */
  static of(state: AcceptorState): LiveState {
    const live = new LiveState();
    for (const b of [...(state.earlierPromises ?? []), state.promised]) live.raise(b);
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
        this.raise(r.ballot);
        return;
      case 'accept': {
        // An accept implies a promise of its ballot (the acceptor raises its promise to accept).
        this.raise(r.ballot);
        if (this.trimmed && r.instance < this.trimmed.instance) return;
        // Never below what this instance holds: with promises per epoch, an earlier epoch's
        // ballot may still be allowed, but not to replace a later epoch's vote.
        const held = this.accepted.get(r.instance);
        if (held && compareBallots(r.ballot, held.ballot) < 0) return;
        this.accepted.set(r.instance, { instance: r.instance, ballot: r.ballot, batch: r.batch });
        return;
      }
      default:
        throw new TypeError(`unknown record kind ${(r as { kind: unknown }).kind}`);
    }
  }

  /** The highest promise in `ballot`'s epoch: a ballot of that epoch below it is refused. */
  promisedIn(ballot: Ballot): Ballot {
    return this.promises.get(epochOf(ballot)) ?? ZERO_BALLOT;
  }

  /** The state as plain data. */
  toState(): AcceptorState {
    const earlier = [...this.promises.values()].filter((b) => b !== this.promised).sort(compareBallots);
    return {
      promised: this.promised, ...(earlier.length ? { earlierPromises: earlier } : {}), accepted: [...this.accepted.values()],
      ...(this.trimmed ? { trimmed: this.trimmed } : {}),
    };
  }

  private raise(b: Ballot): void {
    if (compareBallots(b, ZERO_BALLOT) === 0) return;
    const epoch = epochOf(b);
    const known = this.promises.get(epoch);
    if (!known || compareBallots(b, known) > 0) this.promises.set(epoch, b);
    if (compareBallots(b, this.promised) > 0) this.promised = b;
  }

  /**
   * The fewest records that rebuild this state exactly (the order of `accepted` included), in
   * replay order: the trim, the promise, then every live accept. Compaction writes these.
   */
  records(): AcceptorRecord[] {
    const out: AcceptorRecord[] = [];
    if (this.trimmed) out.push({ kind: 'trim', snapshot: this.trimmed });
    for (const b of [...this.promises.values()].sort(compareBallots)) out.push({ kind: 'promise', ballot: b });
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
