/**
 * Phase 1 of a new leader (compare OmniPaxos's leader side of the prepare): one prepare for
 * every instance from the first undecided one, the acceptors' answers collected until a phase-1
 * quorum is complete, and from those answers what the leader must re-propose (P2c).
 *
 * An answer can be long (every accepted value above the acceptor's trim point), so it comes in
 * chunks; chunks of different answers of one acceptor never mix.
 */
import { type Ballot, compareBallots, sameBallot } from './ballot.js';
import type { AcceptedEntry, Batch, DeliverySnapshot, PromiseMessage, SnapshotPart } from './messages.js';
import type { ResolvedOptions } from './options.js';
import { type Membership, isMember } from './membership.js';
import { type Outbox, TO_ACCEPTORS } from './role.js';
import { joinSnapshot } from './snapshot-parts.js';

/** The chunks of one acceptor's answer to our prepare, as they arrive. */
interface PromiseCollection {
  /** The trim point the answer was cut at: chunks of another answer never mix with these. */
  cutAt: number;
  chunks: number;
  received: Map<number, readonly AcceptedEntry[]>;
  parts: SnapshotPart[];
}

/** What the log already holds, as far as phase 1 needs to know. */
export interface DecidedBatches {
  decidedBatch(instance: number): Batch | undefined;
}

/** One instance's batch to propose (again). */
export interface InstanceBatch {
  readonly instance: number;
  readonly batch: Batch;
}

/** What a new leader proposes first: every instance in [from, end) again, lowest first. */
export interface Reproposals {
  /** Consumed from the end: the lowest instance is last. */
  readonly entries: InstanceBatch[];
  /** One past the highest instance any promise reported: new values go from here. */
  readonly end: number;
}

export class PrepareRound {
  /** The first instance the prepare covers: our first undelivered one when it started. */
  private from = 0;
  private sentAt = -Infinity;
  private readonly promises = new Map<number, PromiseCollection>();
  /** The acceptors of the ballot's epoch: only their promises count. */
  private members: Membership | undefined;

  constructor(private readonly options: ResolvedOptions, private readonly outbox: Outbox) {}

  get firstInstance(): number {
    return this.from;
  }

  start(ballot: Ballot, from: number, members: Membership, now: number): void {
    this.from = from;
    this.members = members;
    this.promises.clear();
    this.send(ballot, now);
  }

  /** Whether the prepare went unanswered long enough to send it again. */
  retransmitDue(now: number): boolean {
    return now - this.sentAt >= this.options.retransmitMs;
  }

  send(ballot: Ballot, now: number): void {
    this.sentAt = now;
    this.outbox.send(TO_ACCEPTORS, { type: 'prepare', ballot, from: this.from });
  }

  /** Take one chunk of a promise for `ballot`; true once a phase-1 quorum of answers is complete. */
  addPromise(m: PromiseMessage, ballot: Ballot): boolean {
    const members = this.members;
    if (!members || !sameBallot(m.ballot, ballot) || !isMember(members, m.acceptor)) return false;
    let c = this.promises.get(m.acceptor);
    // Chunks of an answer cut at an older trim point are stale: never combine two answers.
    if (c && m.cutAt < c.cutAt) return false;
    if (!c || m.cutAt > c.cutAt || c.chunks !== m.chunks) {
      c = { cutAt: m.cutAt, chunks: m.chunks, received: new Map(), parts: [] };
      this.promises.set(m.acceptor, c);
    }
    if (c.received.has(m.chunk)) return false;
    c.received.set(m.chunk, m.accepted);
    if (m.trimmed) c.parts.push(m.trimmed);
    let complete = 0;
    for (const p of this.promises.values()) if (p.received.size === p.chunks) complete++;
    return complete >= members.phase1Quorum;
  }

  /**
   * The newest trim snapshot among the complete answers. Acceptors that trimmed know everything
   * below their trim point is decided and delivered by every learner: never propose there.
   */
  newestTrimPoint(): DeliverySnapshot | undefined {
    let trimmed: DeliverySnapshot | undefined;
    for (const c of this.completeAnswers()) {
      if (c.parts.length === 0) continue;
      const t = joinSnapshot(c.parts);
      if (!trimmed || t.instance > trimmed.instance) trimmed = t;
    }
    return trimmed;
  }

  /**
   * P2c: for every instance from `start`, the value of the highest ballot any complete answer
   * reported; instances nobody reported keep what `log` knows decided, else become no-ops.
   */
  reproposals(start: number, log: DecidedBatches): Reproposals {
    const highest = new Map<number, AcceptedEntry>();
    for (const c of this.completeAnswers()) {
      for (const entries of c.received.values()) {
        for (const e of entries) {
          if (e.instance < start) continue;
          const known = highest.get(e.instance);
          if (!known || compareBallots(e.ballot, known.ballot) > 0) highest.set(e.instance, e);
        }
      }
    }
    let end = start;
    for (const instance of highest.keys()) end = Math.max(end, instance + 1);
    const entries: InstanceBatch[] = [];
    for (let instance = start; instance < end; instance++) {
      const batch = highest.get(instance)?.batch ?? log.decidedBatch(instance) ?? [];
      entries.push({ instance, batch });
    }
    entries.reverse();
    return { entries, end };
  }

  clear(): void {
    this.promises.clear();
  }

  private *completeAnswers(): Iterable<PromiseCollection> {
    for (const c of this.promises.values()) if (c.received.size === c.chunks) yield c;
  }
}
