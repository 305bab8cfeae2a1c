/**
 * Bounded exhaustive exploration: every interleaving of a tiny cluster's steps (delivery order,
 * loss, duplication, crash-restarts, submissions, clock advances) up to a depth bound, with
 * state hashing so a state reached along two paths is explored once. The protocol core is
 * deterministic and its state plain data, so a world can be cloned and hashed generically.
 *
 * A world: the role objects, the multiset of in-flight messages, each acceptor's durable state,
 * the budgets of faults still allowed, a virtual clock, and the checker's observations. Every
 * action is applied to a clone; invariants are checked after every action; a violating state is
 * counted and not expanded, and its action path is kept as a readable history.
 *
 * Durability: an acceptor's writes become durable in the step that produced them. With group
 * commit its answers leave only after the sync, so a crash before the sync loses exactly the
 * answers a lost message would: loss plus crash-restart covers "crash before sync".
 *
 * Reductions (all flags): message types in `eager` (heartbeats, the acceptors' answers to them and progress reports by default)
 * are delivered at once, in order, without faults; messages a proposer sends to itself likewise;
 * the clock advances only by `stepMs` and at most `maxTicks` times; with `tickPolicy: 'quiescent'`
 * only when nothing is in flight.
 */
import { createHash } from 'node:crypto';
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot } from '../protocol/ballot.js';
import type { Batch, Group, Message, MessageType, Outgoing, Payload } from '../protocol/messages.js';
import type { Ready, Role } from '../protocol/role.js';
import { type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import { Acceptor, type AcceptorState, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../protocol/acceptor.js';
import { Client } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import { Proposer } from '../protocol/proposer.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { formatMessage } from './trace.js';

// ---------------------------------------------------------------------------------------------
// Configuration

export type WarmupPredicate = (w: World) => boolean;

export interface ExploreOptions {
  proposers: number;
  acceptors: number;
  learners: number;
  clients: number;
  /** Values submitted in all; value i is `v<i>`, submitted by client i % clients. */
  values: number;
  /** Most actions after the warm-up. */
  depth: number;
  /**
   * What `depth` counts. 'actions': every action. 'choices': only departures from the default
   * schedule (deliver the oldest message in flight) that are faults or reorderings; submissions
   * and clock advances (bounded by `values` and `maxTicks`) are free, so every path runs on to
   * quiescence, or to `maxPathLength`.
   */
  depthCounts: 'actions' | 'choices';
  /** Longest path explored with `depthCounts: 'choices'`. */
  maxPathLength: number;
  /** Stop after this many distinct states. */
  maxStates: number;
  /**
   * Deliveries out of send order allowed on a path (delay bounding): delivering the oldest
   * message in flight is free, any other costs one. Infinity: every delivery order.
   */
  reorder: number;
  /** Budgets over the whole path: messages dropped, messages duplicated, crash-restarts. */
  loss: number;
  dup: number;
  crash: number;
  /** Which groups the crash budget may hit (acceptors restart from disk, others empty). */
  crashGroups: Group[];
  batchMaxBytes: number;
  batchMaxValues: number;
  /** Enable trimming (learners = learner count, trimKeepInstances 1): a trim happens naturally. */
  trim: boolean;
  /** Virtual ms per clock advance; every node ticks after each advance. */
  stepMs: number;
  /** Most clock advances after the warm-up. */
  maxTicks: number;
  /** 'always': the clock may advance with messages in flight; 'quiescent': only with none. */
  tickPolicy: 'always' | 'quiescent';
  /** Message types delivered at once, in order, never lost (a reduction). */
  eager: MessageType[];
  /** Deliver a proposer's messages to itself at once (a reduction). */
  selfImmediate: boolean;
  /**
   * A deterministic fault-free prefix run before exploring: deliver in FIFO order (advancing the
   * clock when nothing is in flight) until the predicate holds. 'leader': a proposer leads and
   * nothing is in flight. 'none': explore from the initial state.
   */
  warmup: 'none' | 'leader' | WarmupPredicate;
  warmupMaxSteps: number;
  /** Overrides of the protocol options the explorer picks. */
  protocol: Partial<ProtocolOptions>;
  /** Stop after this much wall time (ms). */
  timeLimitMs: number;
  /** Stop after this many violations. */
  maxViolations: number;
  /** Violation paths kept (the shortest ones). */
  keepPaths: number;
  /** 'dfs' (little memory) or 'bfs' (shortest paths first, more memory). */
  search: 'dfs' | 'bfs';
  progress?: (line: string) => void;
}

export const DEFAULT_EXPLORE_OPTIONS: ExploreOptions = {
  proposers: 2, acceptors: 3, learners: 1, clients: 1, values: 2,
  depth: 12, depthCounts: 'actions', maxPathLength: 300, maxStates: 2_000_000, reorder: Infinity,
  loss: 1, dup: 1, crash: 1, crashGroups: ['acceptors', 'proposers'],
  batchMaxBytes: 80, batchMaxValues: 1, trim: true,
  stepMs: 10, maxTicks: 4, tickPolicy: 'always',
  eager: ['heartbeat', 'alive', 'progress'], selfImmediate: true,
  warmup: 'leader', warmupMaxSteps: 500,
  protocol: {},
  timeLimitMs: Infinity, maxViolations: Infinity, keepPaths: 3, search: 'dfs',
};

/** Protocol timing scaled to the explorer's clock: every timer fires within a few advances. */
function protocolOptions(o: ExploreOptions): ResolvedOptions {
  return resolveOptions({
    proposers: o.proposers, acceptors: o.acceptors,
    batchMaxBytes: o.batchMaxBytes, batchMaxValues: o.batchMaxValues,
    window: 4,
    // Heartbeats (and learners' progress reports, every 5 heartbeat intervals) go out at every advance.
    heartbeatIntervalMs: Math.max(1, Math.floor(o.stepMs / 5)),
    leaderTimeoutMs: 2 * o.stepMs + 1,
    retransmitMs: 2 * o.stepMs,
    clientRetryMs: 3 * o.stepMs,
    catchupMs: 2 * o.stepMs,
    catchupMaxInstances: 4,
    ...(o.trim ? { learners: o.learners, trimKeepInstances: 1 } : {}),
    ...o.protocol,
  });
}

// ---------------------------------------------------------------------------------------------
// Clients: the one place that knows how a client is made and which key its values carry.

/**
 * Creates client `id`'s incarnation. Its values travel under the session key the log issues it
 * (`client.session`, known once its registration was ordered); the world reports a submission
 * to the checker once that key is known. The nonce is a pure function of the incarnation, so
 * that clones of a world stay identical (no shared counter); the explorer never expires sessions.
 */
export function makeClient(id: number, incarnation: number, options: ResolvedOptions): Client {
  const nonce = `explore-client-${id}-${incarnation}`.padEnd(16, '.');
  return new Client(id, options, { nonce: () => nonce });
}

// ---------------------------------------------------------------------------------------------
// Generic clone and canonical serialization of role state

/** Objects shared by every clone (never mutated): options, frozen constants. */
const SHARED = new WeakSet<object>();
/** Properties that do not affect behaviour and are left out of the state hash. */
const SKIPPED_FIELDS = new Set(['metrics', 'options']);
/** Maps whose iteration order matters to behaviour: hashed in insertion order, not sorted. */
const ORDERED_MAPS = new Set(['pending@Client']);

function cloneValue<T>(v: T, memo: Map<object, unknown>): T {
  if (typeof v !== 'object' || v === null) return v;
  const obj = v as unknown as object;
  if (SHARED.has(obj) || Object.isFrozen(obj) || ArrayBuffer.isView(obj)) return v;
  const seen = memo.get(obj);
  if (seen !== undefined) return seen as T;
  if (Array.isArray(obj)) {
    const a: unknown[] = new Array(obj.length);
    memo.set(obj, a);
    for (let i = 0; i < obj.length; i++) a[i] = cloneValue(obj[i], memo);
    return a as T;
  }
  if (obj instanceof Map) {
    const m = new Map();
    memo.set(obj, m);
    for (const [k, x] of obj) m.set(cloneValue(k, memo), cloneValue(x, memo));
    return m as T;
  }
  if (obj instanceof Set) {
    const s = new Set();
    memo.set(obj, s);
    for (const x of obj) s.add(cloneValue(x, memo));
    return s as T;
  }
  const o = Object.create(Object.getPrototypeOf(obj)) as Record<string, unknown>;
  memo.set(obj, o);
  for (const k of Object.keys(obj)) o[k] = cloneValue((obj as Record<string, unknown>)[k], memo);
  return o as T;
}

const messageKeys = new WeakMap<object, string>();
const packetKeys = new Map<string, string>();

/** A short stable name for "this message to this receiver" (interned: the same text, the same key). */
function packetKey(full: string): string {
  let k = packetKeys.get(full);
  if (k === undefined) {
    k = createHash('sha1').update(full).digest('base64').slice(0, 16);
    packetKeys.set(full, k);
  }
  return k;
}

/** Canonical text of a value: own enumerable fields, sorted Map/Set entries, no functions. */
function serialize(v: unknown, out: string[], owner = ''): void {
  switch (typeof v) {
    case 'number': out.push(Object.is(v, -0) ? '0' : String(v)); return;
    case 'string': out.push(JSON.stringify(v)); return;
    case 'boolean': out.push(v ? 'T' : 'F'); return;
    case 'undefined': out.push('u'); return;
    case 'function': out.push('f'); return;
    case 'bigint': out.push(`${v}n`); return;
  }
  if (v === null) { out.push('n'); return; }
  const obj = v as object;
  if (ArrayBuffer.isView(obj)) { out.push(`b${Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('hex')}`); return; }
  if (Array.isArray(obj)) {
    out.push('[');
    for (const x of obj) { serialize(x, out); out.push(','); }
    out.push(']');
    return;
  }
  if (obj instanceof Map) {
    const entries = [...obj].map(([k, x]) => text(k) + '=>' + text(x));
    if (!ORDERED_MAPS.has(owner)) entries.sort();
    out.push('M{', entries.join(','), '}');
    return;
  }
  if (obj instanceof Set) {
    const items = [...obj].map((x) => text(x));
    items.sort();
    out.push('S{', items.join(','), '}');
    return;
  }
  const cls = (Object.getPrototypeOf(obj) as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
  out.push(cls === 'Object' ? '{' : `${cls}{`);
  for (const k of Object.keys(obj)) {
    if (SKIPPED_FIELDS.has(k)) continue;
    const x = (obj as Record<string, unknown>)[k];
    if (typeof x === 'function') continue;
    out.push(k, ':');
    serialize(x, out, `${k}@${cls}`);
    out.push(';');
  }
  out.push('}');
}

function text(v: unknown): string {
  const out: string[] = [];
  serialize(v, out);
  return out.join('');
}

function messageText(m: Message): string {
  let t = messageKeys.get(m);
  if (t === undefined) {
    t = text(m);
    messageKeys.set(m, t);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// The world

export interface Packet {
  readonly group: Group;
  readonly member: number;
  readonly from: string;
  readonly message: Message;
  /** Receiver plus canonical message text: equal keys are interchangeable copies. */
  readonly key: string;
}

export type Action =
  | { readonly kind: 'deliver' | 'drop' | 'dup'; readonly key: string }
  | { readonly kind: 'advance' }
  | { readonly kind: 'submit'; readonly client: number }
  | { readonly kind: 'crash'; readonly group: Group; readonly id: number };

interface VoteTally {
  mask: number;
  batch: string;
}

/**
 * Embedded learners (inside proposers) hand their Ready to the proposer, not to us: their
 * `takeReady` is replaced by this function, which reports to whichever world is stepping.
 * It closes over nothing, so clones share it safely.
 */
let activeWorld: World | undefined;
function tappedTakeReady(this: Learner & { explorerName: string }): Ready {
  const taken = Learner.prototype.takeReady.call(this);
  activeWorld?.observeEmbedded(this, taken);
  return taken;
}

const GROUP_ORDER = ['proposers', 'acceptors', 'learners', 'clients'] as const;
const NODE_ARRAYS = new Set<string>(GROUP_ORDER);

const batchText = (b: Batch): string => b.map((s) => `${s.client}:${s.seq}=${showPayload(s.value)}`).join(',');
const showPayload = (v: Payload): string => typeof v === 'string' ? JSON.stringify(v) : `0x${Buffer.from(v).toString('hex')}`;

export class World {
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
  /** Per acceptor: the highest ballot it ever promised or voted for, across restarts. */
  floors: Ballot[] = [];
  /** Votes sent, by `instance|ballot`, and the batch each instance had chosen (a phase-2 quorum). */
  votes = new Map<string, VoteTally>();
  chosen = new Map<number, string>();
  checker = new InvariantChecker();
  packets: Packet[] = [];
  now = 0;
  incarnations = 0;
  submittedValues = 0;
  nextValueOf: number[] = [];
  budget = { loss: 0, dup: 0, crash: 0, ticks: 0, reorder: 0 };
  /** Trace lines of the current action (replays only). */
  trace: string[] | undefined;
  /** Nodes this world may mutate (the others it shares with the world it was cloned from). */
  owned = new Set<object>();
  /** Cached digests of unchanged nodes, by `group/id`. */
  digests = new Map<string, string>();

  constructor(readonly options: ResolvedOptions, readonly config: ExploreOptions) {}

  static initial(config: ExploreOptions): World {
    const options = protocolOptions(config);
    SHARED.add(options);
    const w = new World(options, config);
    for (let id = 0; id < config.proposers; id++) w.proposers.push(w.bootProposer(id));
    for (let id = 0; id < config.acceptors; id++) {
      w.disks.push(EMPTY_ACCEPTOR_STATE);
      w.floors.push(ZERO_BALLOT);
      w.acceptors.push(w.bootAcceptor(id));
    }
    for (let id = 0; id < config.learners; id++) w.learners.push(w.bootLearner(id));
    for (let id = 0; id < config.clients; id++) {
      w.clients.push(w.bootClient(id));
      w.nextValueOf.push(0);
    }
    w.budget = { loss: config.loss, dup: config.dup, crash: config.crash, ticks: config.maxTicks, reorder: config.reorder };
    return w;
  }

  clone(): World {
    const memo = new Map<object, unknown>();
    const w = Object.create(World.prototype) as World;
    for (const k of Object.keys(this) as (keyof World)[]) {
      const v = this[k];
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
  private own(group: Group, id: number): Role {
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

  private adopt<T extends Role>(group: Group, id: number, n: T): T {
    this.owned.add(n);
    this.digests.delete(`${group}/${id}`);
    return n;
  }

  /** Canonical hash of everything that can influence the future. */
  hash(): string {
    const out: string[] = [`t${this.now};b${this.budget.loss},${this.budget.dup},${this.budget.crash},${this.budget.ticks},${this.budget.reorder};`];
    out.push(`i${this.incarnations};s${this.nextValueOf.join(',')};`);
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

  // ------------------------------------------------------------------------------- nodes

  private nextIncarnation(name: string): number {
    const inc = ++this.incarnations;
    this.incarnation[name] = inc;
    this.boots[name] = (this.boots[name] ?? 0) + 1;
    return inc;
  }

  private bootProposer(id: number): Proposer {
    const incarnation = this.nextIncarnation(`proposers/${id}`);
    const p = this.adopt('proposers', id, new Proposer(id, this.options, { incarnation, random: () => 0.5 }));
    const learner = p.learner as Learner & { explorerName: string };
    learner.explorerName = `proposers/${id}#${incarnation}`;
    learner.takeReady = tappedTakeReady;
    return p;
  }

  private bootAcceptor(id: number): Acceptor {
    this.nextIncarnation(`acceptors/${id}`);
    return this.adopt('acceptors', id, new Acceptor(id, this.options, this.disks[id]!, { logWrites: true }));
  }

  private bootLearner(id: number): Learner {
    this.nextIncarnation(`learners/${id}`);
    return this.adopt('learners', id, new Learner(id, this.options));
  }

  private bootClient(id: number): Client {
    const client = makeClient(id, this.nextIncarnation(`clients/${id}`), this.options);
    this.unidentified[id] = [];
    this.lastKey[id] = undefined;
    return this.adopt('clients', id, client);
  }

  private node(group: Group, id: number): Role | undefined {
    switch (group) {
      case 'proposers': return this.proposers[id];
      case 'acceptors': return this.acceptors[id];
      case 'learners': return this.learners[id];
      case 'clients': return this.clients[id];
    }
  }

  private members(group: Group): number {
    switch (group) {
      case 'proposers': return this.proposers.length;
      case 'acceptors': return this.acceptors.length;
      case 'learners': return this.learners.length;
      case 'clients': return this.clients.length;
    }
  }

  // ------------------------------------------------------------------------------- actions

  /** Every action enabled here, in a fixed order. */
  actions(): Action[] {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const p of this.packets) if (!seen.has(p.key)) { seen.add(p.key); keys.push(p.key); }
    const acts: Action[] = (this.budget.reorder > 0 ? keys : keys.slice(0, 1)).map((key) => ({ kind: 'deliver', key }));
    for (let c = 0; c < this.clients.length; c++) if (this.valueFor(c) !== undefined) acts.push({ kind: 'submit', client: c });
    if (this.budget.ticks > 0 && (this.config.tickPolicy === 'always' || this.packets.length === 0)) acts.push({ kind: 'advance' });
    if (this.budget.loss > 0) for (const key of keys) acts.push({ kind: 'drop', key });
    if (this.budget.dup > 0) for (const key of keys) acts.push({ kind: 'dup', key });
    if (this.budget.crash > 0) {
      for (const group of this.config.crashGroups) {
        for (let id = 0; id < this.members(group); id++) acts.push({ kind: 'crash', group, id });
      }
    }
    return acts;
  }

  /** The next value client `c` submits, if any is left. */
  private valueFor(c: number): number | undefined {
    const i = c + this.nextValueOf[c]! * this.clients.length;
    return i < this.config.values ? i : undefined;
  }

  /** Apply one action in place. Throws InvariantViolation. */
  apply(a: Action): void {
    activeWorld = this;
    try {
      switch (a.kind) {
        case 'deliver': {
          if (this.packets[0]!.key !== a.key) this.budget.reorder--;
          const p = this.takePacket(a.key);
          this.note(`${p.from} -> ${p.group}/${p.member}: ${formatMessage(p.message)}`);
          this.deliver(p);
          break;
        }
        case 'drop': {
          const p = this.takePacket(a.key);
          this.budget.loss--;
          this.note(`!! drop ${p.from} -> ${p.group}/${p.member}: ${formatMessage(p.message)}`);
          break;
        }
        case 'dup': {
          const p = this.packets.find((x) => x.key === a.key)!;
          this.budget.dup--;
          this.packets.push(p);
          this.note(`!! duplicate ${p.from} -> ${p.group}/${p.member}: ${formatMessage(p.message)}`);
          break;
        }
        case 'advance': {
          this.budget.ticks--;
          this.now += this.config.stepMs;
          this.note(`-- clock advances to ${this.now} ms, every node ticks`);
          this.tickAll();
          break;
        }
        case 'submit': {
          const c = a.client;
          const i = this.valueFor(c)!;
          this.nextValueOf[c]!++;
          const client = this.own('clients', c) as Client;
          const value = `v${i}`;
          const seq = client.submit(value, this.now);
          this.unidentified[c]!.push({ seq, value });
          this.submittedValues++;
          this.note(`clients/${c} submits ${value} (seq ${seq})`);
          this.afterStep('clients', c);
          break;
        }
        case 'crash': {
          this.budget.crash--;
          this.crash(a.group, a.id);
          break;
        }
      }
      this.drainEager();
    } finally {
      activeWorld = undefined;
    }
  }

  private crash(group: Group, id: number): void {
    this.note(`!! crash and restart ${group}/${id}` + (group === 'acceptors' ? ' from its disk' : ' with empty memory'));
    switch (group) {
      case 'proposers': this.proposers[id] = this.bootProposer(id); break;
      case 'acceptors': this.acceptors[id] = this.bootAcceptor(id); break;
      case 'learners': this.learners[id] = this.bootLearner(id); break;
      case 'clients': {
        // Its unsubmitted values die with it.
        this.clients[id] = this.bootClient(id);
        this.nextValueOf[id] = Number.MAX_SAFE_INTEGER;
        break;
      }
    }
  }

  private tickAll(): void {
    for (let id = 0; id < this.proposers.length; id++) { this.own('proposers', id).tick(this.now); this.afterStep('proposers', id); this.drainEager(); }
    for (let id = 0; id < this.learners.length; id++) { this.own('learners', id).tick(this.now); this.afterStep('learners', id); this.drainEager(); }
    for (let id = 0; id < this.clients.length; id++) { this.own('clients', id).tick(this.now); this.afterStep('clients', id); this.drainEager(); }
  }

  private takePacket(key: string): Packet {
    const at = this.packets.findIndex((p) => p.key === key);
    if (at < 0) throw new Error(`no packet ${key}`);
    const p = this.packets[at]!;
    this.packets.splice(at, 1);
    return p;
  }

  private eagerQueue: Packet[] = [];

  private drainEager(): void {
    while (this.eagerQueue.length) {
      const p = this.eagerQueue.shift()!;
      this.note(`   (at once) ${p.from} -> ${p.group}/${p.member}: ${formatMessage(p.message)}`);
      this.deliver(p);
    }
  }

  private deliver(p: Packet): void {
    const node = this.own(p.group, p.member);
    let floor: Ballot | undefined;
    if (p.group === 'acceptors') floor = this.floors[p.member]!;
    node.handle(p.message, this.now);
    this.afterStep(p.group, p.member, p.message, floor);
  }

  private afterStep(group: Group, id: number, handled?: Message, floor?: Ballot): void {
    const node = this.node(group, id)!;
    const name = `${group}/${id}`;
    const ready = node.takeReady();
    const learner = `${name}#${this.incarnation[name]}`;
    for (const gap of ready.gaps) {
      if (this.boots[name] === 1) throw new InvariantViolation('trim', `${learner} never restarted but skipped ${JSON.stringify(gap)}`);
      this.checker.skip(learner, gap.fromPosition, gap.toPosition);
    }
    for (const d of ready.deliveries) this.checker.deliver(learner, d);
    if (group === 'clients') this.observeClient(id, (node as Client).session, ready);
    if (group === 'acceptors') {
      this.disks[id] = applyAcceptorRecords(this.disks[id]!, ready.writes);
      this.checkAcceptor(id, ready.messages, handled, floor ?? this.floors[id]!);
    }
    for (const o of ready.messages) this.route(name, group, id, o);
  }

  /** A value travels only once its session key is known, so it is identified before delivery. */
  private observeClient(id: number, key: number | undefined, ready: Ready): void {
    const travelled = key ?? this.lastKey[id];
    for (const c of ready.completions) this.checker.complete(travelled!, c.seq, c.position);
    if (key === undefined) return;
    this.lastKey[id] = key;
    for (const u of this.unidentified[id]!) this.checker.submit(key, u.seq, u.value);
    this.unidentified[id] = [];
  }

  /** Votes: at most one value chosen per instance; an acceptor never goes below its promise. */
  private checkAcceptor(id: number, out: readonly Outgoing[], handled: Message | undefined, floor: Ballot): void {
    let high = floor;
    for (const { message: m } of out) {
      if (m.type !== 'promise' && m.type !== 'accepted') continue;
      if (compareBallots(m.ballot, floor) < 0) {
        throw new InvariantViolation('acceptor-monotonic',
          `acceptors/${id} sent ${m.type} for ballot ${formatBallot(m.ballot)} after promising ${formatBallot(floor)}`);
      }
      if (compareBallots(m.ballot, high) > 0) high = m.ballot;
      if (m.type !== 'accepted') continue;
      if (handled?.type !== 'accept' || handled.instance !== m.instance) continue;
      const batch = batchText(handled.batch);
      const voteKey = `${m.instance}|${formatBallot(m.ballot)}`;
      let tally = this.votes.get(voteKey);
      if (!tally) this.votes.set(voteKey, (tally = { mask: 0, batch }));
      if (tally.batch !== batch) {
        throw new InvariantViolation('ballot-unique', `instance ${m.instance} ballot ${formatBallot(m.ballot)} carried [${tally.batch}] and [${batch}]`);
      }
      tally.mask |= 1 << id;
      if (popcount(tally.mask) >= this.options.phase2Quorum) {
        const known = this.chosen.get(m.instance);
        if (known === undefined) this.chosen.set(m.instance, batch);
        else if (known !== batch) {
          throw new InvariantViolation('chosen', `instance ${m.instance}: [${known}] was chosen, now a quorum at ballot ` +
            `${formatBallot(m.ballot)} accepted [${batch}]`);
        }
      }
    }
    this.floors[id] = high;
  }

  private route(from: string, fromGroup: Group, fromId: number, o: Outgoing): void {
    const members = o.to.member === undefined ? [...Array(this.members(o.to.group)).keys()] : [o.to.member];
    const mtext = messageText(o.message);
    for (const member of members) {
      if (member >= this.members(o.to.group)) continue;
      const key = packetKey(`${o.to.group}/${member}|${mtext}`);
      const p: Packet = { group: o.to.group, member, from, message: o.message, key };
      const self = fromGroup === o.to.group && fromId === member;
      if ((self && this.config.selfImmediate) || this.config.eager.includes(o.message.type)) this.eagerQueue.push(p);
      else this.packets.push(p);
    }
  }

  observeEmbedded(learner: Learner & { explorerName: string }, ready: Ready): void {
    for (const gap of ready.gaps) this.checker.skip(learner.explorerName, gap.fromPosition, gap.toPosition);
    for (const d of ready.deliveries) this.checker.deliver(learner.explorerName, d);
  }

  private note(line: string): void {
    this.trace?.push(`t=${String(this.now).padStart(4)}  ${line}`);
  }

  /** Values delivered in the reference order so far. */
  get delivered(): number {
    return this.checker.reference.length;
  }

  get anyTrimmed(): boolean {
    return this.acceptors.some((a) => a.snapshot().trimmed !== undefined);
  }

  /** Predicate for warm-ups: some proposer leads and nothing is in flight. */
  get settledWithLeader(): boolean {
    return this.packets.length === 0 && this.proposers.some((p) => p.isLeader) && this.clients.every((c) => c.session !== undefined);
  }

  /** One fault-free FIFO step of a warm-up: deliver the oldest message, else advance the clock. */
  warmupStep(): Action {
    const a: Action = this.packets.length ? { kind: 'deliver', key: this.packets[0]!.key } : { kind: 'advance' };
    if (a.kind === 'advance') this.budget.ticks++; // warm-up advances are free
    this.apply(a);
    return a;
  }
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The search

export interface ViolationReport {
  invariant: string;
  message: string;
  /** Actions after the warm-up. */
  path: Action[];
  /** Readable history: warm-up summary, then every action with what it delivered at once. */
  history: string[];
}

export interface ExploreResult {
  states: number;
  transitions: number;
  violations: number;
  depthReached: number;
  elapsedMs: number;
  /** Why the search stopped early, if it did. */
  stoppedBy?: 'max-states' | 'time-limit' | 'max-violations';
  warmupSteps: number;
  /** Most values delivered in any state, and states in which an acceptor had trimmed. */
  maxDelivered: number;
  trimmedStates: number;
  reports: ViolationReport[];
}

export function resolveExploreOptions(o: Partial<ExploreOptions> = {}): ExploreOptions {
  return { ...DEFAULT_EXPLORE_OPTIONS, ...o };
}

export function explore(partial: Partial<ExploreOptions> = {}): ExploreResult {
  const config = resolveExploreOptions(partial);
  const started = Date.now();
  const root = World.initial(config);
  const warmup: Action[] = [];
  const predicate: WarmupPredicate | undefined =
    config.warmup === 'none' ? undefined : config.warmup === 'leader' ? (w) => w.settledWithLeader : config.warmup;
  if (predicate) {
    while (!predicate(root)) {
      if (warmup.length >= config.warmupMaxSteps) throw new Error(`warm-up did not reach its predicate in ${config.warmupMaxSteps} steps`);
      warmup.push(root.warmupStep());
    }
  }
  const seen = new Map<string, number>(); // state hash -> most depth left with which it was expanded
  const reports: ViolationReport[] = [];
  let transitions = 0;
  let violations = 0;
  let depthReached = 0;
  let maxDelivered = root.delivered;
  let trimmedStates = 0;
  let stoppedBy: ExploreResult['stoppedBy'];
  let lastProgress = started;

  const record = (err: InvariantViolation, path: Action[]): void => {
    violations++;
    if (reports.length >= config.keepPaths && path.length >= reports[reports.length - 1]!.path.length) return;
    reports.push({ invariant: err.invariant, message: err.message, path, history: [] });
    reports.sort((a, b) => a.path.length - b.path.length);
    if (reports.length > config.keepPaths) reports.pop();
  };

  const stop = (): boolean => {
    if (stoppedBy) return true;
    if (seen.size >= config.maxStates) stoppedBy = 'max-states';
    else if (violations >= config.maxViolations) stoppedBy = 'max-violations';
    else if ((transitions & 255) === 0 && Date.now() - started > config.timeLimitMs) stoppedBy = 'time-limit';
    if (config.progress && (transitions & 4095) === 0 && Date.now() - lastProgress > 5000) {
      lastProgress = Date.now();
      config.progress(`  ... ${seen.size} states, ${violations} violations, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    return stoppedBy !== undefined;
  };

  /** Visit a state reached by `path`; returns false if it need not be expanded. */
  const visit = (w: World, left: number, expandAtZero = false): boolean => {
    const h = w.hash();
    const before = seen.get(h);
    if (before !== undefined && before >= left) return false;
    if (before === undefined) {
      if (w.delivered > maxDelivered) maxDelivered = w.delivered;
      if (w.anyTrimmed) trimmedStates++;
    }
    seen.set(h, left);
    return left > 0 || expandAtZero || config.depthCounts === 'choices';
  };

  const step = (w: World, a: Action, pathOf: () => Action[]): World | undefined => {
    transitions++;
    const next = w.clone();
    try {
      next.apply(a);
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      const h = next.hash();
      if (!seen.has(h)) {
        seen.set(h, 0);
        record(err, pathOf());
      }
      return undefined;
    }
    return next;
  };

  if (config.search === 'dfs') {
    const path: Action[] = [];
    const choices = config.depthCounts === 'choices';
    const dfs = (w: World, left: number): void => {
      depthReached = Math.max(depthReached, path.length);
      if (path.length >= (choices ? config.maxPathLength : Infinity)) return;
      const oldest = w.packets[0]?.key;
      for (const a of w.actions()) {
        if (stop()) return;
        const cost = !choices ? 1 : a.kind === 'deliver' ? (a.key === oldest ? 0 : 1) : a.kind === 'submit' || a.kind === 'advance' ? 0 : 1;
        if (cost > left) continue;
        path.push(a);
        const next = step(w, a, () => path.slice());
        if (next && visit(next, left - cost, cost === 0)) dfs(next, left - cost);
        else depthReached = Math.max(depthReached, path.length);
        path.pop();
      }
    };
    if (visit(root, config.depth)) dfs(root, config.depth);
  } else {
    interface Frontier { world: World; path: Action[] }
    let level: Frontier[] = visit(root, config.depth) ? [{ world: root, path: [] }] : [];
    for (let d = 0; d < config.depth && level.length && !stop(); d++) {
      const next: Frontier[] = [];
      for (const f of level) {
        for (const a of f.world.actions()) {
          if (stop()) break;
          const path = [...f.path, a];
          const w = step(f.world, a, () => path);
          if (w && visit(w, config.depth - d - 1)) next.push({ world: w, path });
        }
      }
      if (next.length || level.length) depthReached = d + 1;
      level = next;
    }
  }

  for (const r of reports) r.history = replay(config, warmup, r.path);
  return {
    states: seen.size, transitions, violations, depthReached, elapsedMs: Date.now() - started,
    ...(stoppedBy ? { stoppedBy } : {}),
    warmupSteps: warmup.length, maxDelivered, trimmedStates, reports,
  };
}

/** Re-run a path from the root, recording what every action did, ending with the violation. */
export function replay(config: ExploreOptions, warmup: readonly Action[], path: readonly Action[]): string[] {
  const w = World.initial(config);
  for (const a of warmup) {
    if (a.kind === 'advance') w.budget.ticks++;
    w.apply(a);
  }
  const lines = [`warm-up: ${warmup.length} fault-free FIFO steps, to t=${w.now} ms` +
    (w.proposers.some((p) => p.isLeader) ? `, leader proposers/${w.proposers.findIndex((p) => p.isLeader)}` : '')];
  for (const a of path) {
    w.trace = [];
    try {
      w.apply(a);
    } catch (err) {
      lines.push(...w.trace);
      if (!(err instanceof InvariantViolation)) throw err;
      lines.push(`VIOLATION ${err.message}`);
      return lines;
    }
    lines.push(...w.trace);
  }
  lines.push('(path ended without a violation on replay)');
  return lines;
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'deliver': case 'drop': case 'dup': return `${a.kind} ${a.key.slice(0, 80)}`;
    case 'advance': return 'advance';
    case 'submit': return `submit by clients/${a.client}`;
    case 'crash': return `crash ${a.group}/${a.id}`;
  }
}
