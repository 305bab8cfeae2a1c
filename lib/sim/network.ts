/**
 * The simulated network: which directed links are cut (a link matrix), and what happens to each
 * message on a link that is not: loss, extra loss of multi-part answers, duplication and a random
 * delay (which also reorders). After healing it is timely and loses nothing.
 */
import type { Outgoing } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import type { SimContext } from './sim-context.js';
import type { SimNodes, Slot } from './slots.js';
import { type WireCodec, throughWire } from './wire.js';

/** Directed links, counted: a link is cut while any fault cuts it (faults overlap). */
export class LinkMatrix {
  /** cuts[from * n + to] > 0: messages from `from` to `to` are lost. */
  private readonly cuts: Int32Array;

  constructor(private readonly n: number) {
    this.cuts = new Int32Array(n * n);
  }

  adjust(from: Slot, to: Slot, by: number): void {
    this.cuts[from.index * this.n + to.index]! += by;
  }

  isCut(from: Slot, to: Slot): boolean {
    return this.cuts[from.index * this.n + to.index]! > 0;
  }

  clear(): void {
    this.cuts.fill(0);
  }
}

/**
 * After healing the network is timely (partial synchrony's "global stabilisation time"): delay
 * and jitter each stay below this, well within the leader timeout's margin over heartbeats.
 */
export function timelyBoundMs(leaderTimeoutMs: number, heartbeatIntervalMs: number): number {
  return Math.max(1, Math.floor((leaderTimeoutMs - 2 * heartbeatIntervalMs) / 2));
}

export class SimNetwork {
  private readonly timelyMs: number;

  constructor(
    private readonly ctx: SimContext,
    private readonly nodes: SimNodes,
    readonly links: LinkMatrix,
    private readonly codec: WireCodec,
  ) {
    this.timelyMs = timelyBoundMs(ctx.options.leaderTimeoutMs, ctx.options.heartbeatIntervalMs);
  }

  /** The network as `slot`'s transport: everything its host sends is watched, then routed. */
  transportOf(slot: Slot, watch: (from: Slot, out: Outgoing) => void): Transport {
    return {
      start: () => undefined,
      send: (_from, messages) => {
        for (const out of messages) {
          watch(slot, out);
          this.route(slot, out);
        }
      },
      close: () => undefined,
    };
  }

  /** Schedules the delivery of every copy of `out` that survives, to every addressed slot. */
  private route(from: Slot, out: Outgoing): void {
    const group = this.nodes.group(out.to.group);
    const targets = out.to.member === undefined ? group : [group[out.to.member]].filter((s): s is Slot => s !== undefined);
    const messages = this.ctx.scenario.wire
      ? throughWire(out.to, { group: from.group, id: from.id }, out.message, this.codec)
      : [out.message];
    const net = this.ctx.scenario.network;
    const { rng, healed } = this.ctx;
    for (const to of targets) {
      if (this.links.isCut(from, to)) continue;
      for (const message of messages) {
        if (!healed && rng.chance(net.loss)) continue;
        if (!healed && net.partLoss?.types.includes(message.type) && rng.chance(net.partLoss.loss)) continue;
        const copies = !healed && rng.chance(net.duplicate) ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          const delay = from === to ? 0 : healed
            ? Math.min(net.minDelayMs, this.timelyMs) + rng.next() * Math.min(net.jitterMs, this.timelyMs)
            : net.minDelayMs + rng.next() * net.jitterMs;
          this.ctx.queue.push({ time: this.ctx.now + delay, kind: 'deliver', to, from, message });
        }
      }
    }
  }
}
