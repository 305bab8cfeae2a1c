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
 *
 * This class wires the parts and drives the event loop: nodes (slots.ts), the network
 * (network.ts), faults (fault-injector.ts), acceptor disks (acceptor-disk.ts), liveness (liveness.ts).
 */
import type { Payload } from '../protocol/messages.js';
import type { Ready, Role } from '../protocol/role.js';
import { type HostStorage, RoleHost } from '../runtime/role-host.js';
import { resolveOptions } from '../protocol/options.js';
import { initialMembership } from '../protocol/membership.js';
import { Acceptor, EMPTY_ACCEPTOR_STATE } from '../protocol/acceptor.js';
import { Learner } from '../protocol/learner.js';
import { Proposer } from '../protocol/proposer.js';
import { AcceptorDisks } from './acceptor-disk.js';
import { FaultInjector } from './fault-injector.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { checkLiveness } from './liveness.js';
import { LinkMatrix, SimNetwork } from './network.js';
import { Rng } from './rng.js';
import { type Scenario, barrierTimes, nodeName, transferTimes } from './scenario.js';
import { SimClient } from './sim-client.js';
import { SimApps } from './sim-app.js';
import { SimReconfigurations } from './sim-reconfigure.js';
import { SimContext, type SimEvent } from './sim-context.js';
import { SimNodes, type Slot, isStalled, localNow } from './slots.js';
import { EventHistory } from './trace.js';
import { type WireCodec, REAL_CODEC } from './wire.js';

/** Periodic chatter a quiet history leaves out. */
const QUIET_TYPES: ReadonlySet<string> = new Set(['heartbeat', 'progress']);

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
  /** Membership changes that took effect (epochs after 0 the acceptors chose). */
  epochs: number;
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
  readonly checker: InvariantChecker;
  private readonly ctx: SimContext;
  private readonly history: EventHistory;
  private readonly nodes: SimNodes;
  private readonly network: SimNetwork;
  private readonly disks: AcceptorDisks;
  private readonly faults: FaultInjector;
  /** Applications above the learners, when the scenario keeps application state. */
  private readonly apps: SimApps | undefined;
  private readonly reconfigurations: SimReconfigurations;
  private incarnations = 0;
  private submitted = 0;
  private events = 0;
  private finished = false;

  constructor(readonly scenario: Scenario, private readonly simOptions: SimOptions = {}) {
    const options = resolveOptions(scenario.protocol);
    this.checker = new InvariantChecker({ membership: initialMembership(options) });
    this.history = new EventHistory(simOptions.historySize ?? 60, simOptions.trace);
    this.ctx = new SimContext(scenario, options, new Rng(scenario.seed ^ 0x5eed), this.checker, this.history);
    this.nodes = new SimNodes(scenario);
    const links = new LinkMatrix(this.nodes.all.length);
    this.network = new SimNetwork(this.ctx, this.nodes, links, simOptions.codec ?? REAL_CODEC);
    this.disks = new AcceptorDisks(this.ctx);
    this.apps = scenario.learnerState && options.stateSnapshots ? new SimApps(this.checker, scenario) : undefined;
    this.reconfigurations = new SimReconfigurations(this.ctx, this.nodes, scenario.reconfigurations ?? []);
    this.faults = new FaultInjector(this.ctx, this.nodes, links, { boot: (slot) => this.boot(slot), step: (e) => this.step(e) });
    for (const slot of this.nodes.all) this.boot(slot);
  }

  run(): SimResult {
    this.scheduleStart();
    let violation: InvariantViolation | undefined;
    try {
      while (!this.finished) {
        const e = this.ctx.queue.pop();
        if (!e) throw new InvariantViolation('liveness', 'simulation ran out of events');
        this.ctx.now = e.time;
        this.events++;
        this.step(e);
      }
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      violation = err;
    }
    return {
      seed: this.scenario.seed,
      ok: violation === undefined,
      ...(violation ? { violation } : {}),
      history: this.history.lines(),
      delivered: this.checker.reference.length,
      submitted: this.submitted,
      events: this.events,
      virtualMs: Math.round(this.ctx.now),
      epochs: (this.checker.chosen?.epochs ?? 1) - 1,
    };
  }

  /** The first tick of every node, every submission, the faults, healing and the first liveness check. */
  private scheduleStart(): void {
    const { queue, rng } = this.ctx;
    const s = this.scenario;
    for (const slot of this.nodes.all) queue.push({ time: rng.next() * slot.clock.tickMs, kind: 'tick', slot });
    for (const slot of this.nodes.group('clients')) {
      for (let n = 0; n < s.valuesPerClient; n++) {
        queue.push({ time: rng.next() * s.submitUntilMs, kind: 'submit', slot, value: randomValue(rng, s.maxValueBytes ?? 8) });
      }
    }
    const barriers = barrierTimes(s);
    for (const slot of this.nodes.group('clients')) {
      for (const time of barriers[slot.id] ?? []) queue.push({ time, kind: 'barrier', slot });
    }
    for (const t of transferTimes(s)) queue.push({ time: t.at, kind: 'transfer', pick: t.pick });
    this.reconfigurations.start();
    for (const fault of s.faults) {
      // Faults due after healing are dropped, but for those that outlast it by design.
      if (fault.at < s.healAtMs || (fault.kind === 'crash' && fault.downMs === null) ||
          (fault.kind === 'cut' && fault.forMs === null) || fault.kind === 'stall') {
        queue.push({ time: fault.at, kind: 'fault-start', fault });
      }
    }
    queue.push({ time: s.healAtMs, kind: 'heal' });
    queue.push({ time: Math.max(s.healAtMs, s.submitUntilMs), kind: 'check-liveness' });
  }

  // ------------------------------------------------------------------------------- nodes

  /** Starts a new incarnation of the role in `slot`, hosted as every runtime hosts it. */
  private boot(slot: Slot): void {
    const incarnation = ++this.incarnations;
    slot.incarnation = incarnation;
    slot.boots++;
    slot.proposer = undefined;
    slot.client = undefined;
    slot.learner = undefined;
    slot.stalledUntil = 0;
    slot.backlog = [];
    slot.audited = 0;
    const { options, rng } = this.ctx;
    const transport = this.network.transportOf(slot, (from, out) => {
      if (from.group === 'acceptors') this.disks.observeAnswer(from, out.message);
    });
    const host = (role: Role, storage?: HostStorage): RoleHost =>
      new RoleHost([{ role, ...(storage ? { storage } : {}) }], transport, { now: () => localNow(slot, this.ctx.now), onReady: (_r, ready) => this.onReady(slot, ready) });
    switch (slot.group) {
      case 'proposers': {
        const random = rng.fork();
        slot.proposer = new Proposer(slot.id, options, { incarnation, random: () => random.next() });
        slot.host = host(slot.proposer);
        break;
      }
      case 'acceptors':
        slot.host = host(new Acceptor(slot.id, options, slot.disk ?? EMPTY_ACCEPTOR_STATE, { logWrites: true }), this.disks.storageOf(slot));
        break;
      case 'learners': {
        const learner = new Learner(slot.id, options);
        slot.host = host(learner);
        if (this.apps) {
          slot.learner = learner;
          this.apps.boot(slot, learner, this.nodes.group('learners'));
        }
        break;
      }
      case 'clients': {
        const name = slot.name;
        slot.client = new SimClient(slot.id, options, rng.fork(), ({ client, seq }, value) => {
          this.ctx.remember({ time: this.ctx.now, kind: 'note', detail: `${name} submits ${client}:${seq}` });
          this.checker.submit(client, seq, value);
        });
        slot.host = host(slot.client.node);
        break;
      }
    }
  }

  private step(e: SimEvent): void {
    const now = this.ctx.now;
    switch (e.kind) {
      case 'deliver': {
        const host = e.to.host;
        if (!host) return;
        if (isStalled(e.to, now)) { e.to.backlog.push(e); return; }
        if (!this.simOptions.quiet || !QUIET_TYPES.has(e.message.type)) {
          this.ctx.remember({ time: now, kind: 'deliver', from: e.from.name, to: e.to.name, message: e.message });
        }
        host.deliver(e.message, e.to);
        return;
      }
      case 'tick':
        this.ctx.queue.push({ time: now + e.slot.clock.tickMs, kind: 'tick', slot: e.slot });
        if (!e.slot.host || isStalled(e.slot, now)) return;
        e.slot.host.tick();
        return;
      case 'submit': {
        const client = e.slot.client;
        if (!client || !e.slot.host) return; // a crashed client submits nothing
        if (isStalled(e.slot, now)) { e.slot.backlog.push(e); return; }
        e.slot.host.act(client.node, (_c, at) => client.submit(e.value, at));
        this.submitted++;
        return;
      }
      case 'transfer': return this.transfer(e.pick);
      case 'reconfigure': return this.reconfigurations.step();
      case 'barrier': {
        const client = e.slot.client;
        if (!client || !e.slot.host) return;
        if (isStalled(e.slot, now)) { e.slot.backlog.push(e); return; }
        const required = this.knownDecided();
        this.ctx.remember({ time: now, kind: 'note', detail: `${e.slot.name} asks for a read barrier (${required} values decided)` });
        e.slot.host.act(client.node, (_c, at) => client.barrier(required, at));
        return;
      }
      case 'sync':
        if (isStalled(e.slot, now)) { e.slot.backlog.push(e); return; }
        return this.disks.sync(e.slot, e.incarnation);
      case 'fault-start': return this.faults.start(e.fault);
      case 'fault-end': return this.faults.end(e.fault);
      case 'restart': return this.faults.restart(e.slot);
      case 'unstall': return this.faults.unstall(e.slot, e.incarnation);
      case 'heal': return this.faults.heal();
      case 'check-liveness':
        if (checkLiveness(this.ctx, this.nodes, this.reconfigurations.describe())) this.finished = true;
        return;
    }
  }

  // ------------------------------------------------------------------------------- effects

  /** What a slot's step produced, after its messages were routed or held behind its writes. */
  private onReady(slot: Slot, ready: Ready): void {
    const learner = `${slot.name}#${slot.incarnation}`;
    if (slot.learner && this.apps) return this.apps.onReady(learner, slot, slot.learner, ready);
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
        this.ctx.remember({ time: this.ctx.now, kind: 'note', detail: `${slot.name} told ${c.client}:${c.seq} is at position ${c.position}` });
        this.checker.complete(c.client, c.seq, c.position);
      }
      slot.client.passed(ready.barriers, slot.name);
    }
    if (slot.proposer) this.auditProposer(slot, slot.proposer);
  }

  /** Ask whichever proposer leads now (if one is up and not stalled) to hand over to another, maybe a down one. */
  private transfer(pick: number): void {
    const proposers = this.nodes.group('proposers');
    const leader = proposers.find((s) => s.proposer?.isLeader && s.host && !isStalled(s, this.ctx.now));
    if (!leader) return;
    const others = proposers.filter((s) => s !== leader);
    const to = others[Math.floor(pick * others.length)]!;
    // Half of the transfers are asked by another live proposer (a process without the leader): a
    // `transferRequest` that can be lost, duplicated or arrive after leadership moved on.
    const asker = Math.floor(pick * 1024) % 2 === 1 ? others.find((s) => s.proposer && s.host && !isStalled(s, this.ctx.now)) : undefined;
    if (asker) {
      this.ctx.remember({ time: this.ctx.now, kind: 'note', detail: `${asker.name} asks ${leader.name} to hand over to ${to.name}` });
      asker.host!.act(asker.proposer!, (p, at) => p.requestTransfer(to.id, at));
      return;
    }
    this.ctx.remember({ time: this.ctx.now, kind: 'note', detail: `${leader.name} is asked to hand over to ${to.name}` });
    leader.host!.act(leader.proposer!, (p, at) => p.transferLeadership(to.id, at));
  }

  /** The most values anyone has seen decided: learners, commit notices, and live proposers' own learners. */
  private knownDecided(): number {
    let known = this.checker.knownDecided;
    for (const slot of this.nodes.group('proposers')) {
      if (slot.proposer && slot.proposer.learner.position > known) known = slot.proposer.learner.position;
    }
    return known;
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
}

/** A value to submit. Small integers collide on purpose: exactly-once is by (client, seq), never by content. */
function randomValue(rng: Rng, maxBytes: number): Payload {
  if (rng.chance(0.2)) {
    const bytes = new Uint8Array(rng.int(maxBytes + 1));
    const fill = rng.int(256);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (fill + i * 31) & 0xff;
    return bytes;
  }
  return String(rng.int(100));
}

export { nodeName };
