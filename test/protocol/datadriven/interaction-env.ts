/**
 * The world a scenario file drives (etcd raft's rafttest.InteractionEnv): real role state
 * machines, each with a clock of its own, and a network that holds every message until a command
 * delivers or drops it. Every step of a node prints what its Ready held, one line per message,
 * durable write, delivery, completion or leadership change. See README.md for the commands.
 */
import { EMPTY_ACCEPTOR_STATE, Acceptor, applyAcceptorRecords } from '../../../lib/protocol/acceptor.js';
import type { AcceptorRecord } from '../../../lib/protocol/acceptor-state.js';
import { formatBallot } from '../../../lib/protocol/ballot.js';
import { Client } from '../../../lib/protocol/client.js';
import { Learner } from '../../../lib/protocol/learner.js';
import { GROUPS, type Group, type Message, type MessageType, type Outgoing, RECEIVERS, isGroup } from '../../../lib/protocol/messages.js';
import { type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../../../lib/protocol/options.js';
import { Proposer } from '../../../lib/protocol/proposer.js';
import type { Role } from '../../../lib/protocol/role.js';
import type { Envelope } from '../mini-net.js';
import type { Directive } from './datadriven.js';
import {
  describeBatch, describeCompletion, describeDelivery, describeDestination, describeGap, describeMessage, describeRecord, describeSnapshot,
  nodeName,
} from './describe.js';

/** Liveness traffic, hidden unless `chatter on`: it flows on every tick and says little. */
const CHATTER: ReadonlySet<MessageType> = new Set(['heartbeat', 'alive', 'progress']);
/** Rounds of delivery after which `stabilize` gives up: a message storm is a bug. */
const MAX_ROUNDS = 1000;
/** Proposers draw this instead of randomness: election retries wait 2 × retransmitMs. */
const RANDOM = 0.5;
/** Short names of options in `add-nodes`. */
const ALIASES: Readonly<Record<string, keyof ProtocolOptions>> = { q1: 'phase1Quorum', q2: 'phase2Quorum' };
const OPTION_NAMES: ReadonlySet<string> = new Set(Object.keys(resolveOptions({ proposers: 1, acceptors: 1 })));
const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.keys(RECEIVERS));

interface Node {
  readonly name: string;
  readonly group: Group;
  readonly id: number;
  /** Undefined while crashed. */
  role: Role | undefined;
  /** This node's clock in ms; only `tick` and `run` move it. */
  clock: number;
  /** Lives so far (a proposer's default incarnation). */
  lives: number;
  /** Nonces drawn so far (clients). */
  nonces: number;
  /** Acceptors: every record its Readies wrote, in order (its disk). */
  readonly disk: AcceptorRecord[];
  /** Learners: deliveries and gaps of this life; clients: completions of this life. */
  history: string[];
}

/** A tokenized command line: bare words, `key=value` pairs, quoted strings (values). */
interface Command {
  readonly name: string;
  readonly words: string[];
  readonly keys: Map<string, string>;
  /** The bare word `quiet` was given. */
  readonly quiet: boolean;
}

/** The `key=value` arguments each command takes (add-nodes: group sizes, `tick` and options). */
const KEYS: Readonly<Record<string, readonly string[]>> = {
  'add-nodes': [], tick: [], run: [], submit: ['n'], deliver: ['type', 'first'], drop: ['type', 'first'], queue: ['type', 'first'],
  stabilize: [], crash: [], restart: ['incarnation'], cut: ['type'], heal: ['type'], status: [], counters: [],
  log: ['match', 'tail'], chatter: [],
};

/** `X->Y`, `X` (= `*->X`): X and Y are a node name, a group name or `*`. */
interface Pattern {
  readonly from: string;
  readonly to: string;
}

export class InteractionEnv {
  private options: ResolvedOptions | undefined;
  private tickMs = 10;
  private readonly nodes = new Map<string, Node>();
  private queue: Envelope[] = [];
  /** Cut links, one way each, as `from>to:type` (`*`: every type). */
  private readonly cuts = new Set<string>();
  private chatter = false;
  private lines: string[] = [];
  /** Printed before the next line, if any comes (time marks of `tick` and `run`). */
  private header: string | undefined;
  /** While set, lines are counted by kind instead of printed. */
  private tally: Map<string, number> | undefined;

  /** Runs one directive; returns its output (`ok` when it printed nothing). */
  handle(d: Directive): string {
    this.lines = [];
    this.header = undefined;
    if (d.input.length) throw new Error('no command takes input lines');
    const cmd = parseCommand(d.command);
    const allowed = KEYS[cmd.name];
    if (!allowed) throw new Error(`unknown command ${cmd.name}`);
    if (cmd.name !== 'add-nodes') {
      for (const key of cmd.keys.keys()) if (!allowed.includes(key)) throw new Error(`${cmd.name} takes no ${key}=`);
    }
    const type = cmd.keys.get('type');
    if (type !== undefined && !MESSAGE_TYPES.has(type)) throw new Error(`no message type ${type}`);
    if (cmd.quiet) this.tally = new Map();
    try {
      this.dispatch(cmd);
    } finally {
      if (this.tally) {
        const counts = [...this.tally].map(([kind, n]) => `${kind}=${n}`);
        this.tally = undefined;
        this.lines.push(`quiet: ${counts.length ? counts.join(' ') : 'nothing'}`);
      }
    }
    return this.lines.length ? this.lines.join('\n') : 'ok';
  }

  private dispatch(cmd: Command): void {
    switch (cmd.name) {
      case 'add-nodes': return this.addNodes(cmd);
      case 'tick': return this.tick(cmd, false);
      case 'run': return this.tick(cmd, true);
      case 'submit': return this.submit(cmd);
      case 'deliver': return this.deliver(this.select(cmd));
      case 'drop': return this.drop(this.select(cmd));
      case 'stabilize': return this.stabilize(cmd);
      case 'queue': return this.showQueue(cmd);
      case 'crash': return this.crash(cmd);
      case 'restart': return this.restart(cmd);
      case 'cut': return this.cut(cmd);
      case 'heal': return this.heal(cmd);
      case 'status': return this.status(cmd);
      case 'counters': return this.counters(cmd);
      case 'log': return this.log(cmd);
      case 'chatter': return this.setChatter(cmd);
    }
  }

  // ------------------------------------------------------------------------------- nodes

  private addNodes(cmd: Command): void {
    const counts = new Map<Group, number>();
    for (const group of GROUPS) {
      const n = cmd.keys.get(group);
      if (n !== undefined) counts.set(group, integer(group, n));
      cmd.keys.delete(group);
    }
    if (this.options) {
      if (cmd.keys.size || [...counts.keys()].some((g) => g !== 'clients')) {
        throw new Error('a later add-nodes only adds clients: options and the other groups are fixed by the first');
      }
    } else {
      const tick = cmd.keys.get('tick');
      cmd.keys.delete('tick');
      if (tick !== undefined) this.tickMs = integer('tick', tick);
      const extra: Record<string, number> = {};
      for (const [key, value] of cmd.keys) {
        const name = ALIASES[key] ?? key;
        if (!OPTION_NAMES.has(name)) throw new Error(`unknown option ${key}`);
        extra[name] = integer(key, value);
      }
      this.options = resolveOptions({
        proposers: counts.get('proposers') ?? 1, acceptors: counts.get('acceptors') ?? 3, trimAfterLearners: counts.get('learners') ?? 0, ...extra,
      });
    }
    for (const group of ['proposers', 'acceptors', 'learners', 'clients'] as const) {
      const first = [...this.nodes.values()].filter((n) => n.group === group).length;
      const added: string[] = [];
      for (let id = first; id < first + (counts.get(group) ?? 0); id++) {
        const node: Node = { name: nodeName(group, id), group, id, role: undefined, clock: 0, lives: 0, nonces: 0, disk: [], history: [] };
        this.nodes.set(node.name, node);
        this.spawn(node, undefined);
        added.push(node.name);
      }
      if (added.length) this.print(`${group} ${added.join(' ')}`);
    }
  }

  /** A new life of `node`: an acceptor from its disk, every other role empty. */
  private spawn(node: Node, incarnation: number | undefined): void {
    const o = this.options!;
    node.lives++;
    node.history = [];
    switch (node.group) {
      case 'proposers':
        node.role = new Proposer(node.id, o, { incarnation: incarnation ?? node.lives, random: () => RANDOM });
        break;
      case 'acceptors':
        node.role = new Acceptor(node.id, o, applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, node.disk), { logWrites: true });
        break;
      case 'learners':
        node.role = new Learner(node.id, o);
        break;
      case 'clients':
        node.role = new Client(node.id, o, { nonce: () => `nonce-${node.name}-${String(++node.nonces).padStart(7, '0')}` });
        break;
    }
  }

  private node(name: string | undefined): Node {
    const node = name === undefined ? undefined : this.nodes.get(name);
    if (!node) throw new Error(`no node ${name ?? '(missing)'}`);
    return node;
  }

  private live(name: string | undefined): Node & { role: Role } {
    const node = this.node(name);
    if (!isUp(node)) throw new Error(`${node.name} is down`);
    return node;
  }

  private crash(cmd: Command): void {
    for (const name of cmd.words) {
      const node: Node = this.live(name);
      const role = node.role;
      node.role = undefined;
      this.drop(this.queue.filter((e) => e.to === role));
    }
  }

  private restart(cmd: Command): void {
    const [name, ...rest] = cmd.words;
    if (rest.length) throw new Error('restart one node at a time');
    const node = this.node(name);
    if (node.role) throw new Error(`${node.name} is up`);
    const incarnation = cmd.keys.get('incarnation');
    if (incarnation !== undefined && node.group !== 'proposers') throw new Error('only proposers have incarnations');
    this.spawn(node, incarnation === undefined ? undefined : integer('incarnation', incarnation));
    this.describeStatus(node);
  }

  // ------------------------------------------------------------------------------- steps

  /** `tick [node...] <ms>` moves clocks only; `run <ms> [node...]` also stabilizes after every tick. */
  private tick(cmd: Command, run: boolean): void {
    const numbers = cmd.words.filter((w) => /^\d+$/.test(w));
    if (numbers.length !== 1) throw new Error(`${cmd.name} needs one duration in ms`);
    const ms = integer('ms', numbers[0]!);
    if (ms % this.tickMs !== 0) throw new Error(`${ms} ms is not a whole number of ${this.tickMs} ms ticks`);
    const names = cmd.words.filter((w) => w !== numbers[0]);
    const nodes = names.length ? names.map((n) => this.live(n)) : [...this.nodes.values()].filter(isUp);
    const steps = ms / this.tickMs;
    for (let step = 1; step <= steps; step++) {
      if (steps > 1) this.header = `+${step * this.tickMs}ms`;
      for (const node of nodes) {
        node.clock += this.tickMs;
        this.step(node, (role, now) => role.tick(now));
      }
      if (run) this.settle();
    }
    this.header = undefined;
  }

  private submit(cmd: Command): void {
    const [name, ...values] = cmd.words;
    const node = this.live(name);
    const client = node.role;
    if (!(client instanceof Client)) throw new Error(`${node.name} is not a client`);
    const n = cmd.keys.get('n');
    const all = n === undefined ? values : values.flatMap((v) => Array.from({ length: integer('n', n) }, (_, i) => v.replaceAll('#', String(i))));
    if (all.length === 0) throw new Error('submit needs values');
    this.step(node, (_, now) => {
      for (const v of all) client.submit(v, now);
    });
  }

  /** Let one node act at its clock, then print and send what its Ready held. */
  private step(node: Node & { role: Role }, act: (role: Role, now: number) => void): void {
    act(node.role, node.clock);
    const ready = node.role.takeReady();
    const name = node.name;
    if (ready.leadership) {
      const { leading, ballot } = ready.leadership;
      this.print(leading ? `${name} leads at ${formatBallot(ballot)}` : `${name} steps down from ${formatBallot(ballot)}`, 'leadership');
    }
    for (const r of ready.writes) {
      node.disk.push(r);
      this.print(`${name} writes ${describeRecord(r)}`, 'writes');
    }
    this.send(node.role, ready.messages);
    for (const d of ready.deliveries) this.record(node, `delivers ${describeDelivery(d)}`, 'deliveries');
    for (const g of ready.gaps) this.record(node, `skips ${describeGap(g)}`, 'gaps');
    for (const c of ready.completions) this.record(node, `completes ${describeCompletion(c)}`, 'completions');
  }

  private record(node: Node, what: string, kind: string): void {
    node.history.push(what);
    this.print(`${node.name} ${what}`, kind);
  }

  /**
   * Print each message once (a message sent to several groups on one line, with the receivers a
   * cut link kept it from), and queue a copy per receiver.
   */
  private send(from: Role, messages: readonly Outgoing[]): void {
    const sender = nodeName(from.group, from.id);
    for (let i = 0; i < messages.length;) {
      const { message } = messages[i]!;
      const to: string[] = [];
      const cut: string[] = [];
      let multicast = false;
      for (; messages[i]?.message === message; i++) {
        const dest = messages[i]!.to;
        to.push(describeDestination(dest));
        multicast ||= dest.member === undefined;
        for (const node of this.nodes.values()) {
          if (node.group !== dest.group || (dest.member !== undefined && node.id !== dest.member) || !node.role) continue;
          if (this.isCut(from, node.role, message)) cut.push(node.name);
          else this.queue.push({ from, to: node.role, message });
        }
      }
      const lost = cut.length === 0 ? '' : multicast ? ` (cut: ${cut.join(' ')})` : ' (cut)';
      if (this.visible(message)) this.print(`${sender}->${to.join(',')} ${describeMessage(message)}${lost}`, 'messages');
    }
  }

  private visible(m: Message): boolean {
    return this.chatter || !CHATTER.has(m.type);
  }

  // ------------------------------------------------------------------------------- the network

  /**
   * Messages matching the command's patterns (all, without any), `type=` and `first=`. Hidden
   * chatter is left queued unless `type=` asks for it, so that what is delivered or dropped is
   * what the output shows (`stabilize` and `run` deliver it).
   */
  private select(cmd: Command): Envelope[] {
    const patterns = cmd.words.map((w) => this.pattern(w));
    const type = cmd.keys.get('type');
    const first = cmd.keys.get('first');
    const most = first === undefined ? Infinity : integer('first', first);
    const chosen: Envelope[] = [];
    for (const e of this.queue) {
      if (chosen.length >= most) break;
      if (type !== undefined ? e.message.type !== type : !this.visible(e.message)) continue;
      if (patterns.length && !patterns.some((p) => this.matches(p, e))) continue;
      chosen.push(e);
    }
    return chosen;
  }

  /** `X->Y` or `X` (= `*->X`), where X and Y name a node, a group or `*`. */
  private pattern(word: string): Pattern {
    const [from, to, ...more] = word.includes('->') ? word.split('->') : ['*', word];
    const known = (s: string | undefined): s is string => s !== undefined && (s === '*' || isGroup(s) || this.nodes.has(s));
    if (more.length || !known(from) || !known(to)) throw new Error(`not a link of known nodes: ${word}`);
    return { from, to };
  }

  private matches(p: Pattern, e: Envelope): boolean {
    const side = (want: string, role: Role): boolean => want === '*' || want === role.group || want === nodeName(role.group, role.id);
    return side(p.from, e.from) && side(p.to, e.to);
  }

  /** Deliver these messages (taken off the queue first, so answers wait for a later round). */
  private deliver(chosen: readonly Envelope[]): void {
    if (chosen.length === 0) return this.print('no messages');
    this.take(chosen);
    for (const e of chosen) {
      const node = this.nodes.get(nodeName(e.to.group, e.to.id))!;
      if (node.role !== e.to || !isUp(node)) continue; // crashed meanwhile: lost with its queue
      this.step(node, (role, now) => role.handle(e.message, now));
    }
  }

  private drop(chosen: readonly Envelope[]): void {
    this.take(chosen);
    for (const line of this.describeEnvelopes(chosen)) this.print(`dropped ${line}`, 'dropped');
  }

  /** One line per message: the copies of one multicast that sit next to each other share it. */
  private describeEnvelopes(envelopes: readonly Envelope[]): string[] {
    const lines: string[] = [];
    const shown = envelopes.filter((e) => this.visible(e.message));
    for (let i = 0; i < shown.length; i++) {
      const e = shown[i]!;
      const to = [nodeName(e.to.group, e.to.id)];
      while (shown[i + 1]?.message === e.message && shown[i + 1]!.from === e.from) to.push(nodeName(shown[++i]!.to.group, shown[i]!.to.id));
      lines.push(`${nodeName(e.from.group, e.from.id)}->${to.join(',')} ${describeMessage(e.message)}`);
    }
    return lines;
  }

  private take(chosen: readonly Envelope[]): void {
    const taken = new Set(chosen);
    this.queue = this.queue.filter((e) => !taken.has(e));
  }

  private stabilize(cmd: Command): void {
    if (cmd.words.length) throw new Error('stabilize takes no nodes');
    this.settle();
  }

  /** Deliver rounds of everything queued until nothing is. */
  private settle(): void {
    for (let round = 0; this.queue.length; round++) {
      if (round >= MAX_ROUNDS) throw new Error(`still ${this.queue.length} messages queued after ${MAX_ROUNDS} rounds`);
      this.deliver(this.queue);
    }
  }

  private showQueue(cmd: Command): void {
    const lines = this.describeEnvelopes(this.select(cmd));
    if (lines.length === 0) return this.print('no messages');
    for (const line of lines) this.print(line);
  }

  /**
   * `cut X Y...`: the links between X and each Y, both ways; `cut X->Y...`: those links one way;
   * `type=T`: only messages of that type. Queued messages on them are lost.
   */
  private cut(cmd: Command): void {
    for (const l of this.links(cmd)) this.cuts.add(l);
    this.drop(this.queue.filter((e) => this.isCut(e.from, e.to, e.message)));
  }

  /** `heal`: every link; otherwise the links named as for `cut`. */
  private heal(cmd: Command): void {
    if (cmd.words.length === 0) return this.cuts.clear();
    for (const l of this.links(cmd)) this.cuts.delete(l);
  }

  private links(cmd: Command): string[] {
    const type = cmd.keys.get('type') ?? '*';
    const key = (from: string, to: string): string => `${this.node(from).name}>${this.node(to).name}:${type}`;
    const [first, ...others] = cmd.words;
    if (cmd.words.length && cmd.words.every((w) => w.includes('->'))) {
      return cmd.words.map((w) => {
        const [from, to] = w.split('->');
        return key(from!, to!);
      });
    }
    if (!first || others.length === 0) throw new Error('cut <node> <node>... | cut <node>-><node>...');
    return others.flatMap((other) => [key(first, other), key(other, first)]);
  }

  private isCut(from: Role, to: Role, message: Message): boolean {
    const link = `${nodeName(from.group, from.id)}>${nodeName(to.group, to.id)}`;
    return this.cuts.has(`${link}:*`) || this.cuts.has(`${link}:${message.type}`);
  }

  // ------------------------------------------------------------------------------- looking

  private status(cmd: Command): void {
    const names = cmd.words.length ? cmd.words : [...this.nodes.keys()];
    for (const name of names) this.describeStatus(this.node(name));
  }

  private describeStatus(node: Node): void {
    const { role, name } = node;
    const at = `t=${node.clock}`;
    if (!role) return this.print(`${name} down ${at}`);
    if (role instanceof Proposer) {
      return this.print(`${name} ${role.currentPhase} ballot=${formatBallot(role.currentBallot)} delivered=${role.learner.delivered} ${at}`);
    }
    if (role instanceof Acceptor) {
      const s = role.snapshot();
      this.print(`${name} promised=${formatBallot(s.promised)} ${at}${s.trimmed ? ` trimmed=${describeSnapshot(s.trimmed)}` : ''}`);
      for (const e of [...s.accepted].sort((x, y) => x.instance - y.instance)) {
        this.print(`${name} accepted ${formatBallot(e.ballot)} i=${e.instance} ${describeBatch(e.batch)}`);
      }
      return;
    }
    if (role instanceof Client) return this.print(`${name} session=${role.session ?? 'none'} pending=${role.pendingCount} ${at}`);
    const s = role.status();
    this.print(`${name} delivered instances=${s.instancesDelivered} values=${s.valuesDelivered} ${at}`);
  }

  private counters(cmd: Command): void {
    const [name, ...wanted] = cmd.words;
    const all = this.live(name).role.counters();
    const keys = wanted.length ? wanted : Object.keys(all).filter((k) => all[k] !== 0);
    this.print(keys.map((k) => `${k}=${all[k] ?? 'unknown'}`).join(' ') || 'all zero');
  }

  private log(cmd: Command): void {
    const [name, ...rest] = cmd.words;
    if (rest.length) throw new Error('log <learner|client> [match=TEXT] [tail=N]');
    const node = this.node(name);
    if (node.group !== 'learners' && node.group !== 'clients') throw new Error('log shows what a learner delivered or a client completed');
    const match = cmd.keys.get('match');
    const matching = match === undefined ? node.history : node.history.filter((l) => l.includes(match));
    const tail = cmd.keys.get('tail');
    const shown = tail === undefined ? matching : matching.slice(-integer('tail', tail));
    if (shown.length === 0) return this.print('empty');
    if (shown.length < node.history.length) this.print(`(${node.history.length - shown.length} of ${node.history.length} not shown)`);
    for (const line of shown) this.print(line);
  }

  private setChatter(cmd: Command): void {
    const [mode] = cmd.words;
    if (mode !== 'on' && mode !== 'off') throw new Error('chatter on|off');
    this.chatter = mode === 'on';
  }

  private print(line: string, kind?: string): void {
    if (this.tally) {
      if (kind) this.tally.set(kind, (this.tally.get(kind) ?? 0) + 1);
      return;
    }
    if (this.header !== undefined) {
      this.lines.push(this.header);
      this.header = undefined;
    }
    this.lines.push(line);
  }
}

const isUp = (node: Node): node is Node & { role: Role } => node.role !== undefined;

function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a whole number, got ${text}`);
  return Number(text);
}

/** Words, `key=value` pairs and double-quoted strings (JSON escapes); a quoted string is always a word. */
export function parseCommand(line: string): Command {
  const token = /\s*(?:([A-Za-z][\w-]*)=)?("(?:[^"\\]|\\.)*"|[^\s"]+)/y;
  const words: string[] = [];
  const keys = new Map<string, string>();
  let name: string | undefined;
  let quiet = false;
  for (let rest = line.trim(); rest.length;) {
    token.lastIndex = 0;
    const m = token.exec(rest);
    if (!m) throw new Error(`cannot read ${rest}`);
    rest = rest.slice(m[0].length).trimStart();
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    if (name === undefined) name = value;
    else if (m[1] !== undefined) keys.set(m[1], value);
    else if (m[2] === 'quiet') quiet = true;
    else words.push(value);
  }
  if (name === undefined) throw new Error('empty command');
  return { name, words, keys, quiet };
}
