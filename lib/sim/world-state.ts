/**
 * What an explorer world holds: the role objects, the multiset of in-flight messages, each
 * acceptor's durable state, the budgets of faults still allowed, a virtual clock and the
 * checker's observations; and how it is copied (nodes copy-on-write) and hashed (canonically,
 * so that a state reached along two paths is one state). How a world moves is in world.ts.
 */
import { createHash } from 'node:crypto';
import type { Ballot } from '../protocol/ballot.js';
import type { Group, Message } from '../protocol/messages.js';
import type { Role } from '../protocol/role.js';
import type { ResolvedOptions } from '../protocol/options.js';
import type { Acceptor, AcceptorState } from '../protocol/acceptor.js';
import type { Client } from '../protocol/client.js';
import type { Learner } from '../protocol/learner.js';
import type { Proposer } from '../protocol/proposer.js';
import { serialize, text } from './canonical-text.js';
import { cloneValue } from './deep-clone.js';
import type { ExploreOptions } from './explore-options.js';
import type { VoteRecords, VoteTally } from './explore-invariants.js';
import { InvariantChecker } from './invariants.js';

export interface Packet {
  readonly group: Group;
  readonly member: number;
  readonly from: string;
  readonly message: Message;
  /** Receiver plus canonical message text: equal keys are interchangeable copies. */
  readonly key: string;
}

const GROUP_ORDER = ['proposers', 'acceptors', 'learners', 'clients'] as const;
const NODE_ARRAYS = new Set<string>(GROUP_ORDER);

export class WorldState implements VoteRecords {
  proposers: Proposer[] = [];
  acceptors: Acceptor[] = [];
  learners: Learner[] = [];
  clients: Client[] = [];
  /** Incarnation of each node, by `group/id`. */
  incarnation: Record<string, number> = {};
  boots: Record<string, number> = {};
  /** Per client: values submitted whose session key is not known yet. */
  unidentified: { seq: number; value: string }[][] = [];
  /** Per client: the session key its values last travelled under (completions of an expired session keep it). */
  lastKey: (number | undefined)[] = [];
  /** Per acceptor: what its disk holds. */
  disks: AcceptorState[] = [];
  floors: Ballot[][] = [];
  votes = new Map<string, VoteTally>();
  chosen = new Map<string, string>();
  checker = new InvariantChecker();
  packets: Packet[] = [];
  now = 0;
  incarnations = 0;
  submittedValues = 0;
  nextValueOf: number[] = [];
  /** Read barriers asked so far, and per token the least position its answer must carry. */
  barriersAsked = 0;
  /** Membership changes asked so far (at most `reconfigurations`). */
  reconfigurationsAsked = 0;
  barrierRequired = new Map<string, number>();
  budget = { loss: 0, dup: 0, crash: 0, ticks: 0, reorder: 0 };
  /** Trace lines of the current action (replays only). */
  trace: string[] | undefined;
  /** Nodes this world may mutate (the others it shares with the world it was cloned from). */
  owned = new Set<object>();
  /** Cached digests of unchanged nodes, by `group/id`. */
  digests = new Map<string, string>();

  constructor(readonly options: ResolvedOptions, readonly config: ExploreOptions) {}

  clone(): this {
    const memo = new Map<object, unknown>();
    const w = Object.create(Object.getPrototypeOf(this) as object) as this;
    const from = this as unknown as Record<string, unknown>;
    for (const k of Object.keys(this)) {
      const v = from[k];
      let copy: unknown;
      if (k === 'options' || k === 'config') copy = v;
      else if (k === 'trace') copy = undefined;
      else if (k === 'owned') copy = new Set();
      else if (k === 'digests') copy = new Map(this.digests);
      else if (NODE_ARRAYS.has(k) || k === 'packets') copy = (v as unknown[]).slice(); // nodes: copied on write, see `own`
      else copy = cloneValue(v, memo);
      (w as unknown as Record<string, unknown>)[k] = copy;
    }
    return w;
  }

  /** The node about to change: deep-copied first if this world still shares it with another. */
  protected own(group: Group, id: number): Role {
    const nodes = this[group] as Role[];
    let n = nodes[id]!;
    if (!this.owned.has(n)) {
      n = cloneValue(n, new Map());
      nodes[id] = n;
      this.owned.add(n);
    }
    this.digests.delete(`${group}/${id}`);
    return n;
  }

  /** A node just created for `group/id`: this world's alone. */
  protected adopt<T extends Role>(group: Group, id: number, n: T): T {
    this.owned.add(n);
    this.digests.delete(`${group}/${id}`);
    return n;
  }

  /** Canonical hash of everything that can influence the future. */
  hash(): string {
    const out: string[] = [`t${this.now};b${this.budget.loss},${this.budget.dup},${this.budget.crash},${this.budget.ticks},${this.budget.reorder};`];
    out.push(`i${this.incarnations};s${this.nextValueOf.join(',')};r${this.barriersAsked};m${this.reconfigurationsAsked};`);
    serialize(this.barrierRequired, out);
    for (const group of GROUP_ORDER) {
      const nodes = this[group] as Role[];
      for (let id = 0; id < nodes.length; id++) {
        const name = `${group}/${id}`;
        let d = this.digests.get(name);
        if (d === undefined) {
          d = createHash('sha1').update(text(nodes[id])).digest('base64');
          this.digests.set(name, d);
        }
        out.push(d, '|');
      }
    }
    serialize(this.floors, out);
    serialize(this.votes, out);
    serialize(this.chosen, out);
    serialize(this.checker, out);
    serialize(this.boots, out);
    out.push(this.packets.map((p) => p.key).sort().join(','));
    return createHash('sha1').update(out.join('')).digest('base64');
  }

  /** A new incarnation of node `name` (`group/id`). */
  protected nextIncarnation(name: string): number {
    const inc = ++this.incarnations;
    this.incarnation[name] = inc;
    this.boots[name] = (this.boots[name] ?? 0) + 1;
    return inc;
  }

  protected node(group: Group, id: number): Role | undefined {
    return (this[group] as Role[])[id];
  }

  protected members(group: Group): number {
    return this[group].length;
  }

  /** Values delivered in the reference order so far. */
  get delivered(): number {
    return this.checker.reference.length;
  }

  /** Some proposer's log crossed a stop-sign (the membership change took effect there). */
  get anyReconfigured(): boolean {
    return this.proposers.some((p) => p.learner.membership.epoch > 0);
  }

  get anyTrimmed(): boolean {
    return this.acceptors.some((a) => a.snapshot().trimmed !== undefined);
  }

  /** Predicate for warm-ups: some proposer leads and nothing is in flight. */
  get settledWithLeader(): boolean {
    return this.packets.length === 0 && this.proposers.some((p) => p.isLeader) && this.clients.every((c) => c.session !== undefined);
  }
}
