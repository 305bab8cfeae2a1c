/**
 * A tiny deterministic network of real role state machines for scenario tests: messages are
 * delivered in FIFO order with no delay, every node ticks every `tickMs`, and a test decides
 * which messages are lost (`drop`) and which nodes are down. The random simulator explores;
 * this replays one exact story.
 */
import type { Group, Message, Outgoing } from '../../lib/protocol/messages.js';
import type { PassedBarrier, Role } from '../../lib/protocol/role.js';
import type { Delivery } from '../../lib/protocol/learner.js';
import { Learner } from '../../lib/protocol/learner.js';
import type { Completion } from '../../lib/protocol/client.js';
import { Client } from '../../lib/protocol/client.js';
import { completions, deliveries, outgoing, passedBarriers } from '../kit/drain.js';

export interface Envelope {
  readonly from: Role;
  readonly to: Role;
  readonly message: Message;
}

export class MiniNet {
  readonly nodes: Record<Group, (Role | undefined)[]> = { clients: [], proposers: [], acceptors: [], learners: [] };
  now = 0;
  /** Return true to lose a message. */
  drop: (e: Envelope) => boolean = () => false;
  readonly delivered = new Map<Role, Delivery[]>();
  readonly completed = new Map<Role, Completion[]>();
  readonly barriers = new Map<Role, PassedBarrier[]>();
  private queue: Envelope[] = [];

  constructor(private readonly tickMs = 10) {}

  add(node: Role): Role {
    this.nodes[node.group][node.id] = node;
    return node;
  }

  /** Take `node` down (its queued messages are lost when they arrive). */
  down(group: Group, id: number): void {
    this.nodes[group][id] = undefined;
  }

  /** Run for `ms` of virtual time: deliver everything queued, tick everyone, repeat. */
  run(ms: number): void {
    const until = this.now + ms;
    while (this.now < until) {
      this.deliverAll();
      this.now += this.tickMs;
      for (const node of this.all()) {
        node.tick(this.now);
        this.collect(node);
      }
    }
    this.deliverAll();
  }

  /** Let a node act now (submit, say) and send what it produced. */
  act<T extends Role>(node: T, f: (node: T, now: number) => void): void {
    f(node, this.now);
    this.collect(node);
  }

  private all(): Role[] {
    return Object.values(this.nodes).flat().filter((n): n is Role => n !== undefined);
  }

  private deliverAll(): void {
    for (let steps = 0; this.queue.length; steps++) {
      if (steps > 1_000_000) throw new Error('MiniNet: message storm');
      const batch = this.queue;
      this.queue = [];
      for (const e of batch) {
        if (this.nodes[e.to.group][e.to.id] !== e.to) continue; // went down meanwhile
        e.to.handle(e.message, this.now);
        this.collect(e.to);
      }
    }
  }

  private collect(node: Role): void {
    if (node instanceof Learner) push(this.delivered, node, deliveries(node));
    if (node instanceof Client) {
      push(this.completed, node, completions(node));
      push(this.barriers, node, passedBarriers(node));
    }
    for (const out of outgoing(node)) this.route(node, out);
  }

  private route(from: Role, out: Outgoing): void {
    const members = this.nodes[out.to.group];
    const targets = out.to.member === undefined ? members : [members[out.to.member]];
    for (const to of targets) {
      if (!to) continue;
      const e = { from, to, message: out.message };
      if (!this.drop(e)) this.queue.push(e);
    }
  }
}

function push<T>(map: Map<Role, T[]>, node: Role, items: T[]): void {
  if (items.length === 0) return;
  const list = map.get(node);
  if (list) list.push(...items);
  else map.set(node, items);
}
