/**
 * Deterministic simulation: the real protocol roles, one thread, virtual time, and a network that
 * loses, duplicates, delays and reorders messages, cuts links (partitions, one-way and
 * non-transitive cuts, as a link matrix), crashes and restarts nodes (some for good), stalls
 * their event loops, and gives every node its own tick period and drifting clock, all drawn from
 * one seed. Optionally every message goes through the binary codec. Invariants are checked as
 * events happen; liveness once faults heal.
 *
 * Crash model: proposers, learners and clients restart with empty memory (and a new incarnation);
 * acceptors restart with what their disk holds (see `Scenario.acceptorStorage`).
 */
import type { Group, Message, Outgoing, Payload } from '../protocol/messages.js';
import type { Role } from '../protocol/role.js';
import { GROUPS } from '../protocol/messages.js';
import type { Ready } from '../protocol/role.js';
import { type HostStorage, RoleHost } from '../runtime/role-host.js';
import type { Transport } from '../transport/transport.js';
import { type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import { Acceptor, type AcceptorRecord, type AcceptorState, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../protocol/acceptor.js';
import { Learner } from '../protocol/learner.js';
import { Proposer } from '../protocol/proposer.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { Rng } from './rng.js';
import { type Fault, type NodeClock, type Scenario, describeFault, nodeName } from './scenario.js';
import { SimClient } from './sim-client.js';
import { formatEvent, type HistoryEntry } from './trace.js';
import { type WireCodec, REAL_CODEC, throughWire } from './wire.js';

/** Periodic chatter a quiet history leaves out. */
const QUIET_TYPES: ReadonlySet<string> = new Set(['heartbeat', 'progress']);

interface Slot {
  readonly group: Group;
  readonly id: number;
  readonly name: string;
  /** Index in the link matrix. */
  readonly index: number;
  readonly clock: NodeClock;
  /** The running role, hosted as every runtime hosts it; undefined while crashed. */
  host: RoleHost | undefined;
  /** Typed views of the hosted role, for checks only. */
  proposer: Proposer | undefined;
  client: SimClient | undefined;
  incarnation: number;
  /** How many times this slot has started. */
  boots: number;
  /** Down for good: healing does not restart it. */
  permanent: boolean;
  /** Event loop blocked until then; what arrives meanwhile waits in `backlog`. */
  stalledUntil: number;
  backlog: SimEvent[];
  /** Proposers: instances below this were audited against the chosen values. */
  audited: number;
  /** Acceptors: what the disk holds (survives crashes), writes not yet on it, answers waiting for them. */
  disk?: AcceptorState;
  unsynced?: AcceptorRecord[];
  held?: (() => void)[];
  syncDue?: boolean;
}

type SimEvent =
  | { time: number; order: number; kind: 'deliver'; to: Slot; from: Slot; message: Message }
  | { time: number; order: number; kind: 'tick'; slot: Slot }
  | { time: number; order: number; kind: 'submit'; slot: Slot; value: Payload }
  | { time: number; order: number; kind: 'fault-start'; fault: Fault }
  | { time: number; order: number; kind: 'fault-end'; fault: Fault }
  | { time: number; order: number; kind: 'restart'; slot: Slot }
  | { time: number; order: number; kind: 'unstall'; slot: Slot; incarnation: number }
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
  /** Leave periodic chatter (heartbeats, progress reports) out of the history. */
  quiet?: boolean;
  /** The codec used in wire mode (tests inject a broken one). Default: the real binary codec. */
  codec?: WireCodec;
}

export class Simulation {
  private readonly rng: Rng;
  private readonly options: ResolvedOptions;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly slots: Slot[] = [];
  private readonly byGroup = new Map<Group, Slot[]>();
  readonly checker: InvariantChecker;
  private now = 0;
  private healed = false;
  /** links[from * n + to] > 0: messages from `from` to `to` are lost. */
  private readonly links: Int32Array;
  private readonly activeCuts = new Set<Fault>();
  private readonly permanentCuts: Extract<Fault, { kind: 'cut' }>[] = [];
  private incarnations = 0;
  private submitted = 0;
  private events = 0;
  private finished = false;
  private readonly history: HistoryEntry[] = [];
  private readonly historySize: number;
  private readonly codec: WireCodec;
  /**
   * After healing the network is timely (partial synchrony's "global stabilisation time"): delay
   * and jitter each stay below this, well within the leader timeout's margin over heartbeats.
   */
  private readonly timelyMs: number;

  constructor(readonly scenario: Scenario, private readonly simOptions: SimOptions = {}) {
    this.rng = new Rng(scenario.seed ^ 0x5eed);
    this.options = resolveOptions(scenario.protocol);
    this.checker = new InvariantChecker({ phase2Quorum: this.options.phase2Quorum });
    this.historySize = simOptions.historySize ?? 60;
    this.codec = simOptions.codec ?? REAL_CODEC;
    this.timelyMs = Math.max(1, Math.floor((this.options.leaderTimeoutMs - 2 * this.options.heartbeatIntervalMs) / 2));
    for (const group of GROUPS) {
      const members: Slot[] = [];
      for (let id = 0; id < scenario.shape[group]; id++) {
        const name = `${group}/${id}`;
        const slot: Slot = {
          group, id, name, index: this.slots.length, clock: scenario.clocks[name] ?? { tickMs: 10, rate: 1, offsetMs: 0 },
          host: undefined, proposer: undefined, client: undefined, incarnation: 0, boots: 0, permanent: false, stalledUntil: 0, backlog: [], audited: 0,
        };
        this.boot(slot);
        members.push(slot);
        this.slots.push(slot);
      }
      this.byGroup.set(group, members);
    }
    this.links = new Int32Array(this.slots.length * this.slots.length);
  }

  run(): SimResult {
    const s = this.scenario;
    for (const slot of this.slots) this.queue.push({ time: this.rng.next() * slot.clock.tickMs, kind: 'tick', slot });
    for (const slot of this.byGroup.get('clients')!) {
      for (let n = 0; n < s.valuesPerClient; n++) {
        this.queue.push({ time: this.rng.next() * s.submitUntilMs, kind: 'submit', slot, value: this.randomValue() });
      }
    }
    for (const fault of s.faults) {
      if (fault.at < s.healAtMs || (fault.kind === 'crash' && fault.downMs === null) ||
          (fault.kind === 'cut' && fault.forMs === null) || fault.kind === 'stall') {
        this.queue.push({ time: fault.at, kind: 'fault-start', fault });
      }
    }
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

  /** What `slot` reads on its own clock now: drifting, offset, but monotonic. */
  private localNow(slot: Slot): number {
    return slot.clock.offsetMs + slot.clock.rate * this.now;
  }

  private boot(slot: Slot): void {
    const incarnation = ++this.incarnations;
    slot.incarnation = incarnation;
    slot.boots++;
    slot.proposer = undefined;
    slot.client = undefined;
    slot.stalledUntil = 0;
    slot.backlog = [];
    slot.audited = 0;
    const transport = this.transportOf(slot);
    const host = (role: Role, storage?: HostStorage): RoleHost =>
      new RoleHost([{ role, ...(storage ? { storage } : {}) }], transport, { now: () => this.localNow(slot), onReady: (_r, ready) => this.onReady(slot, ready) });
    switch (slot.group) {
      case 'proposers': {
        const random = this.rng.fork();
        slot.proposer = new Proposer(slot.id, this.options, { incarnation, random: () => random.next() });
        slot.host = host(slot.proposer);
        break;
      }
      case 'acceptors':
        slot.unsynced = [];
        slot.held = [];
        slot.syncDue = false;
        slot.host = host(new Acceptor(slot.id, this.options, slot.disk ?? EMPTY_ACCEPTOR_STATE, { logWrites: true }), this.diskOf(slot));
        break;
      case 'learners': slot.host = host(new Learner(slot.id, this.options)); break;
      case 'clients': {
        const name = slot.name;
        slot.client = new SimClient(slot.id, this.options, this.rng.fork(), ({ client, seq }, value) => {
          this.remember({ time: this.now, kind: 'note', detail: `${name} submits ${client}:${seq}` });
          this.checker.submit(client, seq, value);
        });
        slot.host = host(slot.client.node);
        break;
      }
    }
  }

  /** The simulated network as a transport: what a slot's host sends goes through `route`. */
  private transportOf(slot: Slot): Transport {
    return {
      start: () => undefined,
      send: (_from, messages) => { for (const out of messages) this.route(slot, out); },
      close: () => undefined,
    };
  }

  private crash(slot: Slot): void {
    // Whatever had not reached the disk is gone, and so are the answers that waited for it.
    slot.host = undefined;
    slot.proposer = undefined;
    slot.client = undefined;
    slot.backlog = [];
    slot.stalledUntil = 0;
  }

  private stalled(slot: Slot): boolean {
    return slot.host !== undefined && this.now < slot.stalledUntil;
  }

  private step(e: SimEvent): void {
    switch (e.kind) {
      case 'deliver': {
        const host = e.to.host;
        if (!host) return;
        if (this.stalled(e.to)) { e.to.backlog.push(e); return; }
        if (!this.simOptions.quiet || !QUIET_TYPES.has(e.message.type)) {
          this.remember({ time: this.now, kind: 'deliver', from: e.from.name, to: e.to.name, message: e.message });
        }
        host.deliver(e.message, e.to);
        return;
      }
      case 'tick':
        this.queue.push({ time: this.now + e.slot.clock.tickMs, kind: 'tick', slot: e.slot });
        if (!e.slot.host || this.stalled(e.slot)) return;
        e.slot.host.tick();
        return;
      case 'submit': {
        const client = e.slot.client;
        if (!client || !e.slot.host) return; // a crashed client submits nothing
        if (this.stalled(e.slot)) { e.slot.backlog.push(e); return; }
        e.slot.host.act(client.node, (_c, now) => client.submit(e.value, now));
        this.submitted++;
        return;
      }
      case 'sync':
        if (this.stalled(e.slot)) { e.slot.backlog.push(e); return; }
        return this.sync(e.slot, e.incarnation);
      case 'fault-start': return this.startFault(e.fault);
      case 'fault-end': return this.endFault(e.fault);
      case 'restart':
        if (!e.slot.host && !e.slot.permanent) {
          this.remember({ time: this.now, kind: 'fault', detail: `restart ${e.slot.name}` });
          this.boot(e.slot);
        }
        return;
      case 'unstall': return this.unstall(e.slot, e.incarnation);
      case 'heal': return this.heal();
      case 'check-liveness': return this.checkLiveness();
    }
  }

  private startFault(f: Fault): void {
    this.remember({ time: this.now, kind: 'fault', detail: describeFault(f) });
    const heal = this.scenario.healAtMs;
    switch (f.kind) {
      case 'crash': {
        const slot = this.slot(f.node.group, f.node.id);
        if (!slot) return;
        this.crash(slot);
        if (f.downMs === null) slot.permanent = true;
        else if (this.now + f.downMs < heal || this.healed) this.queue.push({ time: this.now + f.downMs, kind: 'restart', slot });
        return; // otherwise healing restarts it
      }
      case 'partition': {
        const side = new Set(f.side.map((m) => this.slot(m.group, m.id)));
        for (const a of this.slots) {
          for (const b of this.slots) if (side.has(a) !== side.has(b)) this.links[a.index * this.slots.length + b.index]!++;
        }
        this.activeCuts.add(f);
        this.queue.push({ time: Math.min(this.now + f.forMs, heal), kind: 'fault-end', fault: f });
        return;
      }
      case 'cut':
        this.cutLinks(f, 1);
        if (f.forMs === null) { this.permanentCuts.push(f); return; }
        this.activeCuts.add(f);
        this.queue.push({ time: Math.min(this.now + f.forMs, heal), kind: 'fault-end', fault: f });
        return;
      case 'stall': {
        const slot = this.slot(f.node.group, f.node.id);
        if (!slot?.host) return;
        slot.stalledUntil = Math.max(slot.stalledUntil, this.now + f.forMs);
        this.queue.push({ time: this.now + f.forMs, kind: 'unstall', slot, incarnation: slot.incarnation });
      }
    }
  }

  private endFault(f: Fault): void {
    if (!this.activeCuts.delete(f)) return; // healed already
    this.remember({ time: this.now, kind: 'fault', detail: `end: ${describeFault(f)}` });
    const n = this.slots.length;
    if (f.kind === 'partition') {
      const side = new Set(f.side.map((m) => this.slot(m.group, m.id)));
      for (const a of this.slots) for (const b of this.slots) if (side.has(a) !== side.has(b)) this.links[a.index * n + b.index]!--;
    } else if (f.kind === 'cut') {
      this.cutLinks(f, -1);
    }
  }

  private cutLinks(f: Extract<Fault, { kind: 'cut' }>, by: number): void {
    for (const [from, to] of f.links) {
      const a = this.slot(from.group, from.id);
      const b = this.slot(to.group, to.id);
      if (a && b) this.links[a.index * this.slots.length + b.index]! += by;
    }
  }

  /** The stall ends: the node processes everything that queued up, in order, then ticks. */
  private unstall(slot: Slot, incarnation: number): void {
    if (slot.incarnation !== incarnation || !slot.host || this.now < slot.stalledUntil) return;
    slot.stalledUntil = 0;
    const backlog = slot.backlog;
    slot.backlog = [];
    this.remember({ time: this.now, kind: 'fault', detail: `${slot.name} resumes with ${backlog.length} queued events` });
    for (const e of backlog) {
      if (slot.incarnation !== incarnation) return;
      this.step(e);
    }
    slot.host?.tick();
  }

  private heal(): void {
    this.remember({ time: this.now, kind: 'fault', detail: 'heal: no loss, no cut link, everyone restarted but the permanently failed' });
    this.healed = true;
    this.links.fill(0);
    this.activeCuts.clear();
    for (const f of this.permanentCuts) this.cutLinks(f, 1);
    for (const slot of this.slots) if (!slot.host && !slot.permanent) this.boot(slot);
  }

  private slot(group: Group, id: number): Slot | undefined {
    return this.byGroup.get(group)?.[id];
  }

  // ------------------------------------------------------------------------------- effects

  /** What a slot's step produced, after its messages were routed or held behind its writes. */
  private onReady(slot: Slot, ready: Ready): void {
    const learner = `${slot.name}#${slot.incarnation}`;
    for (const gap of ready.gaps) {
      // Trimming waits for every learner, so only one restarted with empty memory can find its
      // start trimmed away.
      if (slot.boots === 1) throw new InvariantViolation('trim', `${learner} never restarted but skipped ${JSON.stringify(gap)}`);
      this.checker.skip(learner, gap.fromPosition, gap.toPosition);
    }
    for (const d of ready.deliveries) this.checker.deliver(learner, d);
    if (slot.client) {
      slot.client.identify();
      for (const c of slot.client.complete(ready.completions)) {
        this.remember({ time: this.now, kind: 'note', detail: `${slot.name} told ${c.client}:${c.seq} is at position ${c.position}` });
        this.checker.complete(c.client, c.seq, c.position);
      }
    }
    if (slot.proposer) this.auditProposer(slot, slot.proposer);
  }

  /** The proposer's embedded learner decides only chosen batches (checked for new instances only). */
  private auditProposer(slot: Slot, proposer: Proposer): void {
    const learner = proposer.learner;
    const end = learner.delivered;
    for (let i = slot.audited; i < end; i++) {
      const batch = learner.decidedBatch(i);
      if (batch) this.checker.decided(`${slot.name}#${slot.incarnation}`, i, batch);
    }
    if (end > slot.audited) slot.audited = end;
  }

  /**
   * An acceptor's virtual disk with group commit: a step's answers wait until its writes (and all
   * before them) are on disk, `fsyncMs` later; with sync `none` they leave at once.
   */
  private diskOf(slot: Slot): HostStorage {
    return {
      persist: (writes, released) => {
        for (const w of writes) if (w.kind === 'accept') this.checker.accepting(w.instance, w.ballot, w.batch);
        const { sync, fsyncMs } = this.scenario.acceptorStorage;
        slot.unsynced!.push(...writes);
        if (sync === 'none' || (slot.unsynced!.length === 0 && slot.held!.length === 0)) released();
        else slot.held!.push(released);
        if (slot.unsynced!.length && !slot.syncDue) {
          slot.syncDue = true;
          this.queue.push({ time: this.now + fsyncMs, kind: 'sync', slot, incarnation: slot.incarnation });
        }
      },
    };
  }

  private sync(slot: Slot, incarnation: number): void {
    if (!slot.host || slot.incarnation !== incarnation) return; // crashed before the fsync finished
    for (const w of slot.unsynced!) if (w.kind !== 'trim') this.checker.acceptorSynced(slot.name, `${w.kind}`, w.ballot);
    slot.disk = applyAcceptorRecords(slot.disk ?? EMPTY_ACCEPTOR_STATE, slot.unsynced!);
    slot.unsynced = [];
    slot.syncDue = false;
    const held = slot.held!;
    slot.held = [];
    for (const release of held) release();
  }

  /** What an acceptor says leaves it now: check it against everything it said and wrote before. */
  private observeAcceptorAnswer(from: Slot, m: Message): void {
    if (m.type === 'promise') this.checker.acceptorSent(from.name, 'promised', m.ballot);
    else if (m.type === 'accepted') {
      this.checker.acceptorSent(from.name, 'accepted', m.ballot);
      this.checker.vote(m.instance, m.ballot, m.acceptor);
    }
  }

  private route(from: Slot, out: Outgoing): void {
    if (from.group === 'acceptors') this.observeAcceptorAnswer(from, out.message);
    const group = this.byGroup.get(out.to.group)!;
    const targets = out.to.member === undefined ? group : [group[out.to.member]].filter((s): s is Slot => s !== undefined);
    const messages = this.scenario.wire
      ? throughWire(out.to, { group: from.group, id: from.id }, out.message, this.codec)
      : [out.message];
    const net = this.scenario.network;
    const n = this.slots.length;
    for (const to of targets) {
      if (this.links[from.index * n + to.index]! > 0) continue;
      for (const message of messages) {
        if (!this.healed && this.rng.chance(net.loss)) continue;
        if (!this.healed && net.partLoss?.types.includes(message.type) && this.rng.chance(net.partLoss.loss)) continue;
        const copies = !this.healed && this.rng.chance(net.duplicate) ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          const delay = from === to ? 0 : this.healed
            ? Math.min(net.minDelayMs, this.timelyMs) + this.rng.next() * Math.min(net.jitterMs, this.timelyMs)
            : net.minDelayMs + this.rng.next() * net.jitterMs;
          this.queue.push({ time: this.now + delay, kind: 'deliver', to, from, message });
        }
      }
    }
  }

  // ------------------------------------------------------------------------------- liveness

  /**
   * After healing: every value of a live client is decided, every learner has it all, and every
   * value a client was told is committed was delivered. Nodes down for good are not waited for.
   */
  private checkLiveness(): void {
    const clients = this.byGroup.get('clients')!.filter((s) => !s.permanent);
    const learners = this.byGroup.get('learners')!.filter((s) => !s.permanent);
    const clientsDone = clients.every((s) => (s.client?.pending ?? 0) === 0);
    const total = this.checker.reference.length;
    const learnersDone = learners.every((s) => this.checker.deliveredBy(`${s.name}#${s.incarnation}`) === total);
    const lost = this.checker.committedButUndelivered();
    if (clientsDone && learnersDone && lost.length === 0 && this.now >= this.scenario.submitUntilMs) {
      this.finished = true;
      return;
    }
    if (this.now > this.scenario.healAtMs + this.scenario.livenessMs) {
      if (clientsDone && learnersDone) {
        throw new InvariantViolation('durability', `clients were told ${lost.slice(0, 5).join(' ')}` +
          `${lost.length > 5 ? ` (+${lost.length - 5})` : ''} are committed, but no learner ever delivered them`);
      }
      const lagging = learners.map((s) => `${s.name} delivered ${this.checker.deliveredBy(`${s.name}#${s.incarnation}`)}/${total}`);
      const pending = clients.map((s) => `${s.name} pending ${s.client?.pending ?? 0}`);
      const leaders = this.byGroup.get('proposers')!
        .map((s) => `${s.name} ${s.proposer ? s.proposer.currentPhase : 'down'}`);
      throw new InvariantViolation('liveness',
        `${this.scenario.livenessMs} ms after healing: ${[...lagging, ...pending, ...leaders].join(', ')}`);
    }
    this.queue.push({ time: this.now + 50, kind: 'check-liveness' });
  }

  private randomValue(): Payload {
    // Small integers collide on purpose: exactly-once is by (client, seq), never by content.
    if (this.rng.chance(0.2)) {
      const max = this.scenario.maxValueBytes ?? 8;
      const bytes = new Uint8Array(this.rng.int(max + 1));
      const fill = this.rng.int(256);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (fill + i * 31) & 0xff;
      return bytes;
    }
    return String(this.rng.int(100));
  }

  private remember(entry: HistoryEntry): void {
    this.simOptions.trace?.(formatEvent(entry));
    this.history.push(entry);
    if (this.history.length > this.historySize) this.history.shift();
  }
}

export { nodeName };
