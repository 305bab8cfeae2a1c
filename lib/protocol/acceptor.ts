/**
 * Acceptor: the memory of the protocol. It promises never to take part in a ballot lower than
 * the highest it has seen, and remembers the last value it accepted in every instance.
 *
 * Invariants it defends (Lamport, "Paxos Made Simple"):
 * - P1a: it accepts a proposal numbered b only if it has not promised a ballot above b.
 * - It answers phase 1 with everything it accepted at or above the asked instance, so a new
 *   leader re-proposes any value that may have been chosen (P2c).
 */
import { type Ballot, ZERO_BALLOT, compareBallots, proposerOf } from './ballot.js';
import {
  type AcceptedEntry, type DeliverySnapshot, type HeartbeatMessage, type Message, type PrepareMessage, type AcceptMessage,
  type SnapshotPart, batchSize,
} from './messages.js';
import { SnapshotAssembler, splitSnapshot } from './snapshot-parts.js';
import { type Ready, type Role, type RoleStatus, EMPTY_READY, NONE, Outbox, TO_LEARNERS, TO_PROPOSERS } from './role.js';
import { type AcceptorRecord, type AcceptorState, LiveState } from './acceptor-state.js';

export { type AcceptorRecord, type AcceptorState, applyAcceptorRecords } from './acceptor-state.js';
import type { ResolvedOptions } from './options.js';

export interface AcceptorSettings {
  /** Report every state change in `Ready.writes` (a durable host persists them). Default false. */
  logWrites?: boolean;
}

export const EMPTY_ACCEPTOR_STATE: AcceptorState = Object.freeze({ promised: ZERO_BALLOT, accepted: [] }) as AcceptorState;

export class Acceptor implements Role {
  readonly group = 'acceptors' as const;
  /** Promised ballot, accepted values, trim point: changed only by applying records (`record`). */
  private readonly state: LiveState;
  private readonly outbox = new Outbox();
  private writes: AcceptorRecord[] | undefined;
  private readonly trimAssembler = new SnapshotAssembler();
  readonly metrics = { promises: 0, accepts: 0, nacks: 0, belowTrim: 0, dropped: 0 };

  constructor(readonly id: number, private readonly options: ResolvedOptions, restored?: AcceptorState, settings: AcceptorSettings = {}) {
    this.state = restored ? LiveState.of(restored) : new LiveState();
    if (settings.logWrites) this.writes = [];
  }

  /** A copy of the durable state, for storage or a restart that keeps memory. */
  snapshot(): AcceptorState {
    return this.state.toState();
  }

  /** The highest promise of all (in the newest epoch this acceptor has heard of). */
  private get promised(): Ballot {
    return this.state.promised;
  }

  /** The promise that bars `ballot`: the highest one of its own epoch (see acceptor-state.ts). */
  private promisedIn(ballot: Ballot): Ballot {
    return this.state.promisedIn(ballot);
  }

  private get trimmed(): DeliverySnapshot | undefined {
    return this.state.trimmed;
  }

  /** The trim snapshot in message-sized parts (none before a trim). */
  private trimmedParts(): readonly SnapshotPart[] {
    return this.trimmed ? splitSnapshot(this.trimmed, this.options.batchMaxBytes) : [];
  }

  /** Every change of state: applied with the one meaning of records, and logged for the disk. */
  private record(r: AcceptorRecord): void {
    this.state.apply(r);
    this.writes?.push(r);
  }

  handle(message: Message): void {
    switch (message.type) {
      case 'prepare': return this.onPrepare(message);
      case 'accept': return this.onAccept(message);
      case 'heartbeat': return this.onHeartbeat(message);
      case 'confirm':
        // Read-only: what we have promised, for a leader confirming that nobody above it has
        // been promised since its read barrier began (a higher promise makes it not count us).
        this.outbox.send({ group: 'proposers', member: proposerOf(message.ballot) },
          { type: 'confirmed', ballot: message.ballot, acceptor: this.id, round: message.round, promised: this.promised });
        return;
      case 'trim': {
        const whole = this.trimAssembler.add(message.snapshot);
        if (whole) this.onTrim(whole);
        return;
      }
      default: this.metrics.dropped++;
    }
  }

  tick(): void {
    // An acceptor only ever answers; it has no timers.
  }

  takeReady(): Ready {
    const writes = this.writes;
    if (this.outbox.size === 0 && !writes?.length) return EMPTY_READY;
    if (writes) this.writes = [];
    return { writes: writes?.length ? writes : NONE, messages: this.outbox.take(), deliveries: NONE, gaps: NONE, completions: NONE };
  }

  counters(): Record<string, number> {
    return { ...this.metrics, acceptedInstances: this.state.accepted.size };
  }

  status(): RoleStatus {
    return {};
  }

  private onPrepare(m: PrepareMessage): void {
    const leader = { group: 'proposers' as const, member: proposerOf(m.ballot) };
    if (compareBallots(m.ballot, this.promisedIn(m.ballot)) < 0) {
      this.nack(m.ballot, leader.member);
      return;
    }
    this.promise(m.ballot);
    this.metrics.promises++;
    // One answer: every chunk names the trim point it was cut at, so the leader assembles an
    // answer from the chunks of that answer only. The trim snapshot's parts follow the accepted
    // entries in chunks of their own (each of them alone fits a message).
    const accepted = this.chunkAccepted(m.from);
    const parts = this.trimmedParts();
    const chunks = accepted.length + parts.length;
    const cutAt = this.trimmed?.instance ?? 0;
    for (let chunk = 0; chunk < chunks; chunk++) {
      const part = parts[chunk - accepted.length];
      this.outbox.send(leader, {
        type: 'promise', ballot: m.ballot, acceptor: this.id, from: m.from, cutAt, chunk, chunks, accepted: accepted[chunk] ?? [],
        ...(part ? { trimmed: part } : {}),
      });
    }
  }

  private onAccept(m: AcceptMessage): void {
    const held = this.state.accepted.get(m.instance);
    // Below its epoch's promise, or below a later epoch's vote already held here.
    if (compareBallots(m.ballot, this.promisedIn(m.ballot)) < 0 || (held && compareBallots(m.ballot, held.ballot) < 0)) {
      this.nack(m.ballot, proposerOf(m.ballot), held?.ballot);
      return;
    }
    if (this.trimmed && m.instance < this.trimmed.instance) {
      // Decided and delivered everywhere long ago: the leader lags (its phase-1 quorum had no
      // trimmed acceptor). Tell it where the log continues, or it retransmits this forever.
      this.metrics.belowTrim++;
      const leader = { group: 'proposers' as const, member: proposerOf(m.ballot) };
      for (const part of this.trimmedParts()) this.outbox.send(leader, { type: 'trimmed', snapshot: part });
      return;
    }
    this.record({ kind: 'accept', instance: m.instance, ballot: m.ballot, batch: m.batch });
    this.metrics.accepts++;
    const vote = { type: 'accepted', ballot: m.ballot, instance: m.instance, acceptor: this.id } as const;
    this.outbox.send(TO_LEARNERS, vote);
    this.outbox.send(TO_PROPOSERS, vote);
  }

  /** Forget decided instances every learner has delivered; the leader ordered it. */
  private onTrim(snapshot: DeliverySnapshot): void {
    if (this.trimmed && this.trimmed.instance >= snapshot.instance) return;
    this.record({ kind: 'trim', snapshot });
  }

  private promise(ballot: Ballot): void {
    if (compareBallots(ballot, this.promisedIn(ballot)) === 0) return; // a retransmitted prepare: nothing new to persist
    this.record({ kind: 'promise', ballot });
  }

  /**
   * A proposer checks in. A leader whose ballot has been overtaken hears so; everyone else hears
   * that this acceptor is reachable, which is how a proposer knows whether it could lead.
   */
  private onHeartbeat(m: HeartbeatMessage): void {
    if (m.leading && compareBallots(m.ballot, this.promisedIn(m.ballot)) < 0) this.nack(m.ballot, m.from);
    else this.outbox.send({ group: 'proposers', member: m.from }, { type: 'alive', acceptor: this.id, promised: this.promised });
  }

  /** Refuse `ballot`, naming what bars it: its epoch's promise, or a higher vote held at the instance. */
  private nack(ballot: Ballot, proposer: number, held?: Ballot): void {
    this.metrics.nacks++;
    const barred = this.promisedIn(ballot);
    const promised = held && compareBallots(held, barred) > 0 ? held : barred;
    this.outbox.send({ group: 'proposers', member: proposer }, { type: 'nack', ballot, promised, acceptor: this.id });
  }

  /** Everything accepted at or above `from`, in instance order, split to bound message size. */
  private chunkAccepted(from: number): AcceptedEntry[][] {
    const start = Math.max(from, this.trimmed?.instance ?? 0);
    const accepted = this.state.accepted;
    const instances = [...accepted.keys()].filter((i) => i >= start).sort((a, b) => a - b);
    const chunks: AcceptedEntry[][] = [[]];
    let bytes = 0;
    for (const instance of instances) {
      const { ballot, batch } = accepted.get(instance)!;
      const size = batchSize(batch) + 32;
      if (bytes + size > this.options.batchMaxBytes && chunks[chunks.length - 1]!.length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      chunks[chunks.length - 1]!.push({ instance, ballot, batch });
      bytes += size;
    }
    return chunks;
  }
}

