/**
 * The fault schedule played out: crashes (and the restarts after them), partitions and cut links
 * (on the link matrix), stalled event loops, and healing, after which only the permanent faults
 * remain.
 */
import type { LinkMatrix } from './network.js';
import { type Fault, describeFault } from './scenario.js';
import type { SimContext, SimEvent } from './sim-context.js';
import { type SimNodes, type Slot, crashSlot } from './slots.js';

type CutFault = Extract<Fault, { kind: 'cut' }>;
type PartitionFault = Extract<Fault, { kind: 'partition' }>;

/** What the injector needs from the simulation: starting a node, and handling an event. */
export interface FaultHooks {
  boot(slot: Slot): void;
  step(e: SimEvent): void;
}

export class FaultInjector {
  /** Partitions and cuts in force that end before healing (healing ends them all at once). */
  private readonly activeCuts = new Set<Fault>();
  private readonly permanentCuts: CutFault[] = [];

  constructor(
    private readonly ctx: SimContext,
    private readonly nodes: SimNodes,
    private readonly links: LinkMatrix,
    private readonly hooks: FaultHooks,
  ) {}

  start(f: Fault): void {
    const ctx = this.ctx;
    ctx.remember({ time: ctx.now, kind: 'fault', detail: describeFault(f) });
    const heal = ctx.scenario.healAtMs;
    switch (f.kind) {
      case 'crash': {
        const slot = this.nodes.slot(f.node.group, f.node.id);
        if (!slot) return;
        crashSlot(slot);
        if (f.downMs === null) slot.permanent = true;
        else if (ctx.now + f.downMs < heal || ctx.healed) ctx.queue.push({ time: ctx.now + f.downMs, kind: 'restart', slot });
        return; // otherwise healing restarts it
      }
      case 'partition':
        this.cutPartition(f, 1);
        this.activeCuts.add(f);
        ctx.queue.push({ time: Math.min(ctx.now + f.forMs, heal), kind: 'fault-end', fault: f });
        return;
      case 'cut':
        this.cutLinks(f, 1);
        if (f.forMs === null) { this.permanentCuts.push(f); return; }
        this.activeCuts.add(f);
        ctx.queue.push({ time: Math.min(ctx.now + f.forMs, heal), kind: 'fault-end', fault: f });
        return;
      case 'stall': {
        const slot = this.nodes.slot(f.node.group, f.node.id);
        if (!slot?.host) return;
        slot.stalledUntil = Math.max(slot.stalledUntil, ctx.now + f.forMs);
        ctx.queue.push({ time: ctx.now + f.forMs, kind: 'unstall', slot, incarnation: slot.incarnation });
      }
    }
  }

  end(f: Fault): void {
    if (!this.activeCuts.delete(f)) return; // healed already
    this.ctx.remember({ time: this.ctx.now, kind: 'fault', detail: `end: ${describeFault(f)}` });
    if (f.kind === 'partition') this.cutPartition(f, -1);
    else if (f.kind === 'cut') this.cutLinks(f, -1);
  }

  /** A crashed node's time is up: it starts again, unless it is down for good or already back. */
  restart(slot: Slot): void {
    if (slot.host || slot.permanent) return;
    this.ctx.remember({ time: this.ctx.now, kind: 'fault', detail: `restart ${slot.name}` });
    this.hooks.boot(slot);
  }

  /** The stall ends: the node processes everything that queued up, in order, then ticks. */
  unstall(slot: Slot, incarnation: number): void {
    if (slot.incarnation !== incarnation || !slot.host || this.ctx.now < slot.stalledUntil) return;
    slot.stalledUntil = 0;
    const backlog = slot.backlog;
    slot.backlog = [];
    this.ctx.remember({ time: this.ctx.now, kind: 'fault', detail: `${slot.name} resumes with ${backlog.length} queued events` });
    for (const e of backlog) {
      if (slot.incarnation !== incarnation) return;
      this.hooks.step(e);
    }
    slot.host?.tick();
  }

  heal(): void {
    this.ctx.remember({ time: this.ctx.now, kind: 'fault', detail: 'heal: no loss, no cut link, everyone restarted but the permanently failed' });
    this.ctx.healed = true;
    this.links.clear();
    this.activeCuts.clear();
    for (const f of this.permanentCuts) this.cutLinks(f, 1);
    for (const slot of this.nodes.all) if (!slot.host && !slot.permanent) this.hooks.boot(slot);
  }

  /** Every link between the side and the rest, both ways. */
  private cutPartition(f: PartitionFault, by: number): void {
    const side = new Set(f.side.map((m) => this.nodes.slot(m.group, m.id)));
    for (const a of this.nodes.all) {
      for (const b of this.nodes.all) if (side.has(a) !== side.has(b)) this.links.adjust(a, b, by);
    }
  }

  private cutLinks(f: CutFault, by: number): void {
    for (const [from, to] of f.links) {
      const a = this.nodes.slot(from.group, from.id);
      const b = this.nodes.slot(to.group, to.id);
      if (a && b) this.links.adjust(a, b, by);
    }
  }
}
