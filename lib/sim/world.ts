/**
 * How an explorer world moves: the actions enabled in it and what each does (deliver, drop or
 * duplicate a packet, advance the clock, submit a value, crash and restart a node), with the
 * invariants checked after every step. What a world holds, and how it is copied and hashed, is in
 * world-state.ts.
 *
 * Durability: an acceptor's writes become durable in the step that produced them. With group
 * commit its answers leave only after the sync, so a crash before the sync loses exactly the
 * answers a lost message would: loss plus crash-restart covers "crash before sync".
 */
import { ZERO_BALLOT, type Ballot } from '../protocol/ballot.js';
import type { Group, Message, Outgoing } from '../protocol/messages.js';
import type { Ready } from '../protocol/role.js';
import type { ResolvedOptions } from '../protocol/options.js';
import { Acceptor, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../protocol/acceptor.js';
import { Client } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import { Proposer } from '../protocol/proposer.js';
import { messageText, packetKey } from './canonical-text.js';
import { markShared } from './deep-clone.js';
import { type ExploreOptions, protocolOptionsFor } from './explore-options.js';
import { checkAcceptorAnswers } from './explore-invariants.js';
import { type Membership, initialMembership, resolveMembership } from '../protocol/membership.js';
import { InvariantViolation, checkBarrierAnswer } from './invariants.js';
import { formatMessage } from './trace.js';
import { type Packet, WorldState } from './world-state.js';

export type { Packet } from './world-state.js';

export type Action =
  | { readonly kind: 'deliver' | 'drop' | 'dup'; readonly key: string }
  | { readonly kind: 'advance' }
  | { readonly kind: 'submit'; readonly client: number }
  | { readonly kind: 'barrier'; readonly client: number }
  | { readonly kind: 'reconfigure' }
  | { readonly kind: 'crash'; readonly group: Group; readonly id: number };

/**
 * Creates client `id`'s incarnation: the one place that knows how a client is made and which
 * key its values carry. Its values travel under the session key the log issues it
 * (`client.session`, known once its registration was ordered); the world reports a submission
 * to the checker once that key is known. The nonce is a pure function of the incarnation, so
 * that clones of a world stay identical (no shared counter); the explorer never expires sessions.
 */
export function makeClient(id: number, incarnation: number, options: ResolvedOptions): Client {
  const nonce = `explore-client-${id}-${incarnation}`.padEnd(16, '.');
  return new Client(id, options, { nonce: () => nonce });
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

/** The memberships of the explored epochs, per (shared, immutable) options object: votes ask for them at every step. */
const memberships = new WeakMap<ResolvedOptions, Membership[]>();

const describePacket = (p: Packet): string => `${p.from} -> ${p.group}/${p.member}: ${formatMessage(p.message)}`;

export class World extends WorldState {
  /** Packets delivered at once, in order, after the step that sent them (the reductions). */
  private eagerQueue: Packet[] = [];

  static initial(config: ExploreOptions): World {
    const options = protocolOptionsFor(config);
    markShared(options);
    const w = new World(options, config);
    for (let id = 0; id < config.proposers; id++) w.proposers.push(w.bootProposer(id));
    for (let id = 0; id < config.acceptors + config.spares; id++) {
      w.disks.push(EMPTY_ACCEPTOR_STATE);
      w.floors.push([ZERO_BALLOT]);
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

  // ------------------------------------------------------------------------------- nodes

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

  // ------------------------------------------------------------------------------- actions

  /** Every action enabled here, in a fixed order. */
  actions(): Action[] {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const p of this.packets) if (!seen.has(p.key)) { seen.add(p.key); keys.push(p.key); }
    const acts: Action[] = (this.budget.reorder > 0 ? keys : keys.slice(0, 1)).map((key) => ({ kind: 'deliver', key }));
    for (let c = 0; c < this.clients.length; c++) if (this.valueFor(c) !== undefined) acts.push({ kind: 'submit', client: c });
    if (this.barriersAsked < this.config.barriers) acts.push({ kind: 'barrier', client: this.barriersAsked % this.clients.length });
    if (this.reconfigurationsAsked < this.config.reconfigurations && this.proposers[0]) acts.push({ kind: 'reconfigure' });
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
      this.perform(a);
      this.drainEager();
    } finally {
      activeWorld = undefined;
    }
  }

  private perform(a: Action): void {
    switch (a.kind) {
      case 'deliver': {
        if (this.packets[0]!.key !== a.key) this.budget.reorder--;
        const p = this.takePacket(a.key);
        this.note(describePacket(p));
        return this.deliver(p);
      }
      case 'drop': {
        const p = this.takePacket(a.key);
        this.budget.loss--;
        return this.note(`!! drop ${describePacket(p)}`);
      }
      case 'dup': {
        const p = this.packets.find((x) => x.key === a.key)!;
        this.budget.dup--;
        this.packets.push(p);
        return this.note(`!! duplicate ${describePacket(p)}`);
      }
      case 'advance':
        this.budget.ticks--;
        this.now += this.config.stepMs;
        this.note(`-- clock advances to ${this.now} ms, every node ticks`);
        return this.tickAll();
      case 'submit': return this.submit(a.client);
      case 'barrier': return this.askBarrier(a.client);
      case 'reconfigure': return this.askReconfiguration();
      case 'crash':
        this.budget.crash--;
        return this.crash(a.group, a.id);
    }
  }

  private submit(c: number): void {
    const i = this.valueFor(c)!;
    this.nextValueOf[c]!++;
    const client = this.own('clients', c) as Client;
    const value = `v${i}`;
    const seq = client.submit(value, this.now);
    this.unidentified[c]!.push({ seq, value });
    this.submittedValues++;
    this.note(`clients/${c} submits ${value} (seq ${seq})`);
    this.afterStep('clients', c);
  }

  /** Replace the highest voting acceptor by the first spare (see `ExploreOptions.reconfigurations`). */
  private askReconfiguration(): void {
    this.reconfigurationsAsked++;
    const request = this.replacement();
    (this.own('proposers', 0) as Proposer).requestReconfiguration(request);
    this.note(`proposers/0 asks for acceptors ${request.acceptors.join(',')}`);
    this.afterStep('proposers', 0);
  }

  /** The one membership change the explorer asks for: the highest voting acceptor replaced by the first spare. */
  private replacement(): { acceptors: number[] } {
    const n = this.config.acceptors;
    return { acceptors: [...Array.from({ length: n - 1 }, (_, i) => i), n] };
  }

  /** Epoch 0's members, and epoch 1's: the replacement's (with majorities); nothing else is ever asked. Computed once per options. */
  private membershipOf(epoch: number): Membership {
    let known = memberships.get(this.options);
    if (!known) memberships.set(this.options, (known = []));
    const e = Math.min(epoch, 1);
    return (known[e] ??= e === 0 ? initialMembership(this.options) : resolveMembership(this.replacement(), this.options.acceptors, 1));
  }

  /** A read barrier: its answer must cover every value any learner (embedded ones too) has delivered by now. */
  private askBarrier(c: number): void {
    const token = `explore-barrier-${this.barriersAsked++}`;
    const required = this.checker.knownDecided;
    this.barrierRequired.set(token, required);
    (this.own('clients', c) as Client).barrier(token, this.now);
    this.note(`clients/${c} asks for a read barrier (${required} values decided)`);
    this.afterStep('clients', c);
  }

  private crash(group: Group, id: number): void {
    this.note(`!! crash and restart ${group}/${id}` + (group === 'acceptors' ? ' from its disk' : ' with empty memory'));
    switch (group) {
      case 'proposers': this.proposers[id] = this.bootProposer(id); break;
      case 'acceptors': this.acceptors[id] = this.bootAcceptor(id); break;
      case 'learners': this.learners[id] = this.bootLearner(id); break;
      case 'clients':
        // Its unsubmitted values die with it.
        this.clients[id] = this.bootClient(id);
        this.nextValueOf[id] = Number.MAX_SAFE_INTEGER;
        break;
    }
  }

  private tickAll(): void {
    for (const group of ['proposers', 'learners', 'clients'] as const) {
      for (let id = 0; id < this[group].length; id++) {
        this.own(group, id).tick(this.now);
        this.afterStep(group, id);
        this.drainEager();
      }
    }
  }

  private takePacket(key: string): Packet {
    const at = this.packets.findIndex((p) => p.key === key);
    if (at < 0) throw new Error(`no packet ${key}`);
    const p = this.packets[at]!;
    this.packets.splice(at, 1);
    return p;
  }

  private drainEager(): void {
    while (this.eagerQueue.length) {
      const p = this.eagerQueue.shift()!;
      this.note(`   (at once) ${describePacket(p)}`);
      this.deliver(p);
    }
  }

  // ------------------------------------------------------------------------------- steps

  private deliver(p: Packet): void {
    const node = this.own(p.group, p.member);
    let floor: Ballot[] | undefined;
    if (p.group === 'acceptors') floor = this.floors[p.member]!;
    node.handle(p.message, this.now);
    this.afterStep(p.group, p.member, p.message, floor);
  }

  /** What a node's step produced: checked, written to its disk, and sent. */
  private afterStep(group: Group, id: number, handled?: Message, floor?: Ballot[]): void {
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
      checkAcceptorAnswers(this, (epoch) => this.membershipOf(epoch), id, ready.messages, handled, floor ?? this.floors[id]!);
    }
    for (const o of ready.messages) this.route(name, group, id, o);
  }

  /** A value travels only once its session key is known, so it is identified before delivery. */
  private observeClient(id: number, key: number | undefined, ready: Ready): void {
    const travelled = key ?? this.lastKey[id];
    for (const c of ready.completions) this.checker.complete(travelled!, c.seq, c.position);
    for (const b of ready.barriers ?? []) {
      checkBarrierAnswer(`clients/${id}`, this.barrierRequired.get(b.token), b.position);
      this.barrierRequired.delete(b.token);
    }
    if (key === undefined) return;
    this.lastKey[id] = key;
    for (const u of this.unidentified[id]!) this.checker.submit(key, u.seq, u.value);
    this.unidentified[id] = [];
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

  /** One fault-free FIFO step of a warm-up: deliver the oldest message, else advance the clock. */
  warmupStep(): Action {
    const a: Action = this.packets.length ? { kind: 'deliver', key: this.packets[0]!.key } : { kind: 'advance' };
    if (a.kind === 'advance') this.budget.ticks++; // warm-up advances are free
    this.apply(a);
    return a;
  }
}
