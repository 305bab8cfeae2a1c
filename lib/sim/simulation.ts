/**
 * Deterministic simulation: the real protocol roles, one thread, virtual time, and a network that
 * loses, duplicates, delays and reorders messages, partitions, and crashes and restarts nodes, all
 * drawn from one seed. Invariants are checked after every step; liveness once faults heal.
 *
 * Crash model: proposers, learners and clients restart with empty memory (and a new incarnation);
 * acceptors restart with the state they had (as if durable), and at most a minority is ever down.
 */
import { nodeKey } from '../protocol/ballot.js';
import type { Group, Message, Outgoing, Payload } from '../protocol/messages.js';
import type { ProtocolNode } from '../protocol/node.js';
import { type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import { Acceptor, type AcceptorRecord, type AcceptorState, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../protocol/acceptor.js';
import { Client } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import { Proposer } from '../protocol/proposer.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { Rng } from './rng.js';
import type { FaultEvent, Scenario } from './scenario.js';
import { formatEvent, type HistoryEntry } from './trace.js';

interface Slot {
  readonly group: Group;
  readonly id: number;
  readonly name: string;
  node: ProtocolNode | undefined;
  incarnation: number;
  /** How many times this slot has started. */
  boots: number;
  /** Acceptors: what the disk holds (survives crashes), writes not yet on it, answers waiting for them. */
  disk?: AcceptorState;
  unsynced?: AcceptorRecord[];
  held?: Outgoing[];
  syncDue?: boolean;
}

type SimEvent =
  | { time: number; order: number; kind: 'deliver'; to: Slot; from: Slot; message: Message }
  | { time: number; order: number; kind: 'tick'; slot: Slot }
  | { time: number; order: number; kind: 'submit'; slot: Slot; value: Payload }
  | { time: number; order: number; kind: 'fault'; fault: FaultEvent }
  | { time: number; order: number; kind: 'heal' }
  | { time: number; order: number; kind: 'sync'; slot: Slot; incarnation: number }
  | { time: number; order: number; kind: 'check-liveness' };

export interface SimResult {
  seed: number;
  ok: boolean;
  violation?: InvariantViolation;
  /** The last events before the violation, formatted. */
  history: string[];
  delivered: number;
  submitted: number;
  events: number;
  virtualMs: number;
}

export interface SimOptions {
  /** How many recent events to keep for a failure report. Default 60. */
  historySize?: number;
  /** Print every event as it happens. */
  trace?: (line: string) => void;
}

export class Simulation {
  private readonly rng: Rng;
  private readonly options: ResolvedOptions;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly slots: Slot[] = [];
  private readonly byGroup = new Map<Group, Slot[]>();
  readonly checker = new InvariantChecker();
  private now = 0;
  private healed = false;
  private partitionSide: Set<Slot> | undefined;
  private incarnations = 0;
  private submitted = 0;
  private events = 0;
  private finished = false;
  private readonly history: HistoryEntry[] = [];
  private readonly historySize: number;

  constructor(readonly scenario: Scenario, private readonly simOptions: SimOptions = {}) {
    this.rng = new Rng(scenario.seed ^ 0x5eed);
    this.options = resolveOptions(scenario.protocol);
    this.historySize = simOptions.historySize ?? 60;
    for (const group of ['clients', 'proposers', 'acceptors', 'learners'] as const) {
      const members: Slot[] = [];
      for (let id = 0; id < scenario.shape[group]; id++) {
        const slot: Slot = { group, id, name: `${group}/${id}`, node: undefined, incarnation: 0, boots: 0 };
        this.boot(slot);
        members.push(slot);
        this.slots.push(slot);
      }
      this.byGroup.set(group, members);
    }
  }

  run(): SimResult {
    const s = this.scenario;
    for (const slot of this.slots) this.queue.push({ time: this.rng.next() * s.tickMs, kind: 'tick', slot });
    for (const slot of this.byGroup.get('clients')!) {
      for (let n = 0; n < s.valuesPerClient; n++) {
        this.queue.push({ time: this.rng.next() * s.submitUntilMs, kind: 'submit', slot, value: this.randomValue() });
      }
    }
    for (const fault of s.faults) this.queue.push({ time: fault.at, kind: 'fault', fault });
    this.queue.push({ time: s.healAtMs, kind: 'heal' });
    this.queue.push({ time: Math.max(s.healAtMs, s.submitUntilMs), kind: 'check-liveness' });

    let violation: InvariantViolation | undefined;
    try {
      while (!this.finished) {
        const e = this.queue.pop();
        if (!e) throw new InvariantViolation('liveness', 'simulation ran out of events');
        this.now = e.time;
        this.events++;
        this.step(e);
      }
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      violation = err;
    }
    return {
      seed: s.seed,
      ok: violation === undefined,
      ...(violation ? { violation } : {}),
      history: this.history.map(formatEvent),
      delivered: this.checker.reference.length,
      submitted: this.submitted,
      events: this.events,
      virtualMs: Math.round(this.now),
    };
  }

  // ------------------------------------------------------------------------------- nodes

  private boot(slot: Slot): void {
    const incarnation = ++this.incarnations;
    slot.incarnation = incarnation;
    slot.boots++;
    switch (slot.group) {
      case 'proposers': {
        const random = this.rng.fork();
        slot.node = new Proposer(slot.id, this.options, { incarnation, random: () => random.next() });
        break;
      }
      case 'acceptors':
        slot.node = new Acceptor(slot.id, this.options, slot.disk ?? EMPTY_ACCEPTOR_STATE, { logWrites: true });
        slot.unsynced = [];
        slot.held = [];
        slot.syncDue = false;
        break;
      case 'learners': slot.node = new Learner(slot.id, this.options); break;
      case 'clients': {
        const nonces = this.rng.fork();
        const hex = (): string => Math.floor(nonces.next() * 2 ** 32).toString(16).padStart(8, '0');
        slot.node = new Client(slot.id, this.options, { nonce: () => hex() + hex() });
        break;
      }
    }
  }

  private crash(slot: Slot): void {
    // Whatever had not reached the disk is gone, and so are the answers that waited for it.
    slot.node = undefined;
  }

  private step(e: SimEvent): void {
    switch (e.kind) {
      case 'deliver': {
        const node = e.to.node;
        if (!node) return;
        this.remember({ time: this.now, kind: 'deliver', from: e.from.name, to: e.to.name, message: e.message });
        node.handle(e.message, this.now);
        this.afterStep(e.to);
        return;
      }
      case 'tick':
        this.queue.push({ time: this.now + this.scenario.tickMs, kind: 'tick', slot: e.slot });
        if (!e.slot.node) return;
        e.slot.node.tick(this.now);
        this.afterStep(e.slot);
        return;
      case 'submit': {
        const client = e.slot.node as Client | undefined;
        if (!client) return; // a crashed client submits nothing
        const seq = client.submit(e.value, this.now);
        this.checker.submit(this.clientIdentity(e.slot), seq, e.value);
        this.submitted++;
        this.afterStep(e.slot);
        return;
      }
      case 'sync': return this.sync(e.slot, e.incarnation);
      case 'fault': return this.applyFault(e.fault);
      case 'heal': return this.heal();
      case 'check-liveness': return this.checkLiveness();
    }
  }

  private applyFault(f: FaultEvent): void {
    this.remember({ time: this.now, kind: 'fault', detail: describeFault(f) });
    switch (f.kind) {
      case 'crash': return this.crash(this.slot(f.group, f.id));
      case 'restart': {
        const slot = this.slot(f.group, f.id);
        if (!slot.node) this.boot(slot);
        return;
      }
      case 'partition':
        this.partitionSide = new Set(f.side.map((m) => this.slot(m.group, m.id)));
        return;
      case 'heal-partition':
        this.partitionSide = undefined;
    }
  }

  private heal(): void {
    this.remember({ time: this.now, kind: 'fault', detail: 'heal: no loss, no partition, everyone restarted' });
    this.healed = true;
    this.partitionSide = undefined;
    for (const slot of this.slots) if (!slot.node) this.boot(slot);
  }

  /** Who submitted, for the checker: one client incarnation (its sessions map to it). */
  private clientIdentity(slot: Slot): number {
    return nodeKey(slot.id, slot.incarnation);
  }

  private slot(group: Group, id: number): Slot {
    return this.byGroup.get(group)![id]!;
  }

  // ------------------------------------------------------------------------------- effects

  private afterStep(slot: Slot): void {
    const node = slot.node!;
    if (node instanceof Learner) {
      const learner = `${slot.name}#${slot.incarnation}`;
      for (const gap of node.takeGaps()) {
        // Trimming waits for every learner, so only one restarted with empty memory can find its
        // start trimmed away.
        if (slot.boots === 1) throw new InvariantViolation('trim', `${learner} never restarted but skipped ${JSON.stringify(gap)}`);
        this.checker.skip(learner, gap.fromPosition, gap.toPosition);
      }
      for (const d of node.takeDeliveries()) this.checker.deliver(learner, d);
    } else if (node instanceof Client) {
      // A client learns its session key before any value travels under it: bind it now.
      if (node.session !== undefined) this.checker.bindSession(node.session, this.clientIdentity(slot));
      for (const c of node.takeCompletions()) this.checker.complete(this.clientIdentity(slot), c.seq, c.position);
    } else if (node instanceof Acceptor) {
      return this.persistThenAnswer(slot, node);
    }
    for (const out of node.takeOutgoing()) this.route(slot, out);
  }

  /** Group commit: a step's answers wait until its writes (and all before them) are on disk. */
  private persistThenAnswer(slot: Slot, acceptor: Acceptor): void {
    const writes = acceptor.takeWrites();
    const out = acceptor.takeOutgoing();
    const { sync, fsyncMs } = this.scenario.acceptorStorage;
    slot.unsynced!.push(...writes);
    if (sync === 'none' || (slot.unsynced!.length === 0 && slot.held!.length === 0)) {
      for (const o of out) this.route(slot, o);
    } else {
      slot.held!.push(...out);
    }
    if (slot.unsynced!.length && !slot.syncDue) {
      slot.syncDue = true;
      this.queue.push({ time: this.now + fsyncMs, kind: 'sync', slot, incarnation: slot.incarnation });
    }
  }

  private sync(slot: Slot, incarnation: number): void {
    if (!slot.node || slot.incarnation !== incarnation) return; // crashed before the fsync finished
    slot.disk = applyAcceptorRecords(slot.disk ?? EMPTY_ACCEPTOR_STATE, slot.unsynced!);
    slot.unsynced = [];
    slot.syncDue = false;
    const held = slot.held!;
    slot.held = [];
    for (const o of held) this.route(slot, o);
  }

  private route(from: Slot, out: Outgoing): void {
    const targets = out.to.member === undefined
      ? this.byGroup.get(out.to.group)!
      : [this.byGroup.get(out.to.group)![out.to.member]].filter((s): s is Slot => s !== undefined);
    const net = this.scenario.network;
    for (const to of targets) {
      if (this.cut(from, to)) continue;
      if (!this.healed && this.rng.chance(net.loss)) continue;
      const copies = !this.healed && this.rng.chance(net.duplicate) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const delay = from === to ? 0 : net.minDelayMs + this.rng.next() * net.jitterMs;
        this.queue.push({ time: this.now + delay, kind: 'deliver', to, from, message: out.message });
      }
    }
  }

  private cut(a: Slot, b: Slot): boolean {
    return this.partitionSide !== undefined && this.partitionSide.has(a) !== this.partitionSide.has(b);
  }

  // ------------------------------------------------------------------------------- liveness

  /** After healing: every value of a live client is decided, and every learner has it all. */
  private checkLiveness(): void {
    const clientsDone = this.byGroup.get('clients')!.every((s) => (s.node as Client).pendingCount === 0);
    const total = this.checker.reference.length;
    const learnersDone = this.byGroup.get('learners')!.every((s) => this.checker.deliveredBy(`${s.name}#${s.incarnation}`) === total);
    if (clientsDone && learnersDone && this.now >= this.scenario.submitUntilMs) {
      this.finished = true;
      return;
    }
    if (this.now > this.scenario.healAtMs + this.scenario.livenessMs) {
      const lagging = this.byGroup.get('learners')!
        .map((s) => `${s.name} delivered ${this.checker.deliveredBy(`${s.name}#${s.incarnation}`)}/${total}`);
      const pending = this.byGroup.get('clients')!.map((s) => `${s.name} pending ${(s.node as Client).pendingCount}`);
      throw new InvariantViolation('liveness',
        `${this.scenario.livenessMs} ms after healing: ${[...lagging, ...pending].join(', ')}`);
    }
    this.queue.push({ time: this.now + 50, kind: 'check-liveness' });
  }

  private randomValue(): Payload {
    // Small integers collide on purpose: exactly-once is by (client, seq), never by content.
    if (this.rng.chance(0.2)) return Uint8Array.from({ length: this.rng.int(8) }, () => this.rng.int(256));
    return String(this.rng.int(100));
  }

  private remember(entry: HistoryEntry): void {
    this.simOptions.trace?.(formatEvent(entry));
    this.history.push(entry);
    if (this.history.length > this.historySize) this.history.shift();
  }
}

function describeFault(f: FaultEvent): string {
  switch (f.kind) {
    case 'crash': return `crash ${f.group}/${f.id}`;
    case 'restart': return `restart ${f.group}/${f.id}`;
    case 'partition': return `partition {${f.side.map((m) => `${m.group}/${m.id}`).join(' ')}} | rest`;
    case 'heal-partition': return 'partition healed';
  }
}
