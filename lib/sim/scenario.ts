/**
 * A scenario is everything a simulated run depends on, drawn from one seed: cluster shape,
 * quorums, protocol options, network behaviour, per-node clocks and a fault schedule. It is plain
 * JSON-able data: printing it explains a failing seed, the shrinker edits it, and
 * `npm run sim -- --scenario FILE` replays a saved (or shrunk) one.
 */
import { type Group, type MessageType, GROUPS } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import { MAX_BATCH_BYTES_FOR_DATAGRAM } from '../transport/codec.js';
import { Rng } from './rng.js';

/**
 * `handover`: leaders keep changing hands while trimming and chunked answers are in flight —
 * the proposers repeatedly lose sight of each other (both campaign, both trim while they lead),
 * promise chunks are small, reordered and lost. A rolling restart or a flapping link between
 * proposers looks like this.
 */
export type FaultMix = 'calm' | 'lossy' | 'crashes' | 'partitions' | 'chaos' | 'handover';
export const FAULT_MIXES: readonly FaultMix[] = ['calm', 'lossy', 'crashes', 'partitions', 'chaos', 'handover'];

export interface NetworkBehaviour {
  /** Every message takes at least this long. */
  minDelayMs: number;
  /** Plus a uniformly random extra delay up to this (which also reorders). */
  jitterMs: number;
  /** Probability a message copy is dropped. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /**
   * Extra loss for the message types named: the large, multi-part answers (promise chunks, trim
   * snapshot parts) are what a real network loses most (fragmented datagrams), and what splits a
   * multi-part answer into parts of different answers.
   */
  partLoss?: { types: readonly MessageType[]; loss: number };
}

export interface NodeRef {
  group: Group;
  id: number;
}

/**
 * One fault, self-contained (start and duration), so the shrinker can drop or shorten it alone.
 * Every fault ends at `healAtMs` at the latest, except a permanent crash (`downMs: null`).
 */
export type Fault =
  /** The node loses its memory (acceptors keep their synced disk) and restarts `downMs` later. */
  | { kind: 'crash'; at: number; node: NodeRef; downMs: number | null }
  /** Every link between `side` and the rest is cut, both ways. */
  | { kind: 'partition'; at: number; forMs: number; side: NodeRef[] }
  /**
   * Directed links cut: messages from `link[0]` to `link[1]` are lost (one-way, non-transitive
   * cuts). `forMs: null`: for good (healing does not mend them).
   */
  | { kind: 'cut'; at: number; forMs: number | null; links: [NodeRef, NodeRef][] }
  /** The node's event loop is blocked: it does nothing, then processes everything queued. */
  | { kind: 'stall'; at: number; forMs: number; node: NodeRef };

/** How one node perceives time: it ticks every `tickMs` (real), and its clock reads `offsetMs + rate × t`. */
export interface NodeClock {
  tickMs: number;
  rate: number;
  offsetMs: number;
}

export interface Scenario {
  seed: number;
  mix: FaultMix;
  shape: { proposers: number; acceptors: number; learners: number; clients: number };
  protocol: ProtocolOptions;
  /** Values each client submits, spread over [0, submitUntilMs]. */
  valuesPerClient: number;
  /** Largest value drawn, in bytes (always fits `batchMaxBytes`). */
  maxValueBytes: number;
  submitUntilMs: number;
  network: NetworkBehaviour;
  faults: Fault[];
  /** From here on: no loss, no cut link, every crashed node restarted except the permanent ones. */
  healAtMs: number;
  /** Every value must be delivered everywhere within this long after healing. */
  livenessMs: number;
  /** Per node (`group/id`): tick period and clock drift. */
  clocks: Record<string, NodeClock>;
  /** Every message goes through the binary codec (encode, datagram limit, decode, deep compare). */
  wire: boolean;
  /**
   * How acceptors persist. 'synced': a step's answers leave only after its writes reached the
   * disk image, `fsyncMs` later (group commit); a crash loses unsynced writes and held answers.
   * 'none': answers leave at once and writes reach the disk later: unsafe across crashes.
   */
  acceptorStorage: { sync: 'synced' | 'none'; fsyncMs: number };
}

export const nodeName = (n: NodeRef): string => `${n.group}/${n.id}`;

export function quorumsOf(s: Scenario): { q1: number; q2: number } {
  const majority = Math.floor(s.shape.acceptors / 2) + 1;
  return { q1: s.protocol.phase1Quorum ?? majority, q2: s.protocol.phase2Quorum ?? majority };
}

/** Nodes that are down at the end of the run (liveness is judged without them). */
export function permanentlyDown(s: Scenario): NodeRef[] {
  return s.faults.filter((f): f is Extract<Fault, { kind: 'crash' }> => f.kind === 'crash' && f.downMs === null).map((f) => f.node);
}

/** Links cut for good. */
export function permanentCuts(s: Scenario): [NodeRef, NodeRef][] {
  return s.faults.flatMap((f) => (f.kind === 'cut' && f.forMs === null ? f.links : []));
}

export function scenarioFromSeed(seed: number, mixOverride?: FaultMix): Scenario {
  const rng = new Rng(seed);
  const mix = mixOverride ?? FAULT_MIXES[seed % FAULT_MIXES.length]!;
  const shape = {
    proposers: rng.between(1, 4),
    acceptors: rng.between(1, 7),
    learners: rng.between(1, 3),
    clients: rng.between(1, 4),
  };
  const handover = mix === 'handover';
  if (handover) {
    shape.proposers = Math.max(2, shape.proposers);
    shape.acceptors = rng.pick([3, 3, 3, 5]);
  }
  const wire = rng.chance(1 / 3);
  const n = shape.acceptors;
  const protocol: ProtocolOptions = { proposers: shape.proposers, acceptors: n };
  if (rng.chance(0.5)) {
    // Any valid flexible pair: q1 + q2 > n.
    const q1 = rng.between(1, n);
    protocol.phase1Quorum = q1;
    protocol.phase2Quorum = rng.between(n - q1 + 1, n);
  }
  const heartbeat = rng.pick([5, 10, 20, 20, 50]);
  protocol.heartbeatIntervalMs = heartbeat;
  protocol.leaderTimeoutMs = heartbeat * rng.between(3, 12);
  protocol.retransmitMs = rng.pick([10, 30, 100, 100, 300]);
  protocol.clientRetryMs = rng.pick([50, 200, 400, 400, 1000]);
  protocol.catchupMs = rng.pick([10, 60, 60, 200]);
  protocol.catchupMaxInstances = rng.pick([1, 4, 64, 512]);
  protocol.window = rng.pick([1, 2, 4, 32, 256]);
  protocol.batchMaxValues = rng.pick([1, 3, 8, 64, 4096]);
  // Small limits force multi-chunk promises, catch-up answers and submits.
  const bigValues = rng.chance(0.1);
  protocol.batchMaxBytes = bigValues
    ? rng.pick([4096, 48 * 1024, MAX_BATCH_BYTES_FOR_DATAGRAM])
    : rng.pick([100, 150, 200, 300, 1024, 48 * 1024]);
  if (wire) protocol.batchMaxBytes = Math.min(protocol.batchMaxBytes, MAX_BATCH_BYTES_FOR_DATAGRAM);
  let maxValueBytes = bigValues ? Math.min(protocol.batchMaxBytes - 24, rng.pick([500, 2000, 8000])) : 8;
  if (rng.chance(0.6)) {
    // Trim aggressively, so that restarted proposers and learners meet trimmed logs.
    protocol.learners = shape.learners;
    protocol.trimKeepInstances = rng.pick([1, 1, 2, 8, 64]);
  }
  if (handover) {
    protocol.learners = shape.learners;
    protocol.trimKeepInstances = 1;
    protocol.batchMaxBytes = rng.pick([80, 80, 150]); // 80: every accepted entry is a promise chunk of its own
    protocol.batchMaxValues = rng.pick([1, 1, 2]);
    protocol.retransmitMs = rng.pick([10, 20]);
    protocol.window = rng.pick([2, 4, 8]);
    maxValueBytes = Math.min(maxValueBytes, protocol.batchMaxBytes - 24);
  }
  const faulty = mix !== 'calm';
  // Slow networks: delays beyond the retransmit interval and the leader timeout.
  const slow = rng.chance(0.15);
  const network: NetworkBehaviour = {
    minDelayMs: slow ? rng.pick([20, 100]) : rng.between(0, 3),
    jitterMs: slow ? rng.pick([150, 500, 1500]) : rng.pick([0, 2, 10, 40]),
    loss: mix === 'lossy' || mix === 'chaos' ? rng.pick([0.01, 0.1, 0.3, 0.5]) : 0,
    duplicate: faulty ? rng.pick([0, 0.05, 0.2]) : 0,
  };
  if (handover) {
    network.jitterMs = rng.pick([10, 20, 40]);
    network.loss = rng.pick([0.05, 0.1, 0.2]);
    network.partLoss = { types: ['promise'], loss: rng.pick([0.3, 0.5]) };
  } else if (faulty && rng.chance(0.3)) {
    network.partLoss = { types: rng.pick([['promise'], ['promise', 'trim', 'trimmed'], ['trim', 'trimmed']]), loss: rng.pick([0.2, 0.4, 0.6]) };
  }
  const clocks: Record<string, NodeClock> = {};
  const drift = rng.chance(0.4);
  const maxTick = Math.max(1, Math.min(heartbeat, 20));
  const uniformTick = rng.pick([1, 5, 10].filter((t) => t <= maxTick));
  const nodes = everyone(shape);
  const perNodeTicks = rng.chance(0.5);
  for (const node of nodes) {
    clocks[nodeName(node)] = {
      tickMs: perNodeTicks ? rng.between(1, maxTick) : uniformTick ?? 1,
      rate: drift ? 1 + (rng.next() - 0.5) * rng.pick([0.02, 0.1]) : 1,
      offsetMs: drift ? rng.int(100_000) : 0,
    };
  }
  const healAtMs = faulty || slow ? rng.between(1500, 4000) : 0;
  const faults: Fault[] = [];
  const permanent = faulty && mix !== 'lossy' && rng.chance(0.25) ? permanentFailures(rng, shape, protocol, healAtMs) : [];
  faults.push(...permanent);
  if ((mix === 'partitions' || mix === 'chaos') && shape.proposers > 1 && permanent.length === 0 && rng.chance(0.2)) {
    faults.push(isolatedProposer(rng, shape, protocol, healAtMs));
  }
  if (mix === 'crashes' || mix === 'chaos') faults.push(...crashSchedule(rng, shape, protocol, healAtMs, permanent));
  if (handover) faults.push(...proposersLoseSight(rng, shape, healAtMs));
  if (mix === 'partitions' || mix === 'chaos') faults.push(...partitionSchedule(rng, nodes, healAtMs));
  if ((mix === 'crashes' || mix === 'chaos' || mix === 'partitions') && rng.chance(0.5)) faults.push(...stallSchedule(rng, nodes, healAtMs));
  faults.sort((a, b) => a.at - b.at);
  const retry = protocol.clientRetryMs;
  const sessions = rng.chance(0.25);
  if (sessions) {
    // A short deduplication window and few sessions: sessions retire while values are pending.
    protocol.sessionIdleInstances = rng.pick([64, 128, 500]);
    protocol.maxSessions = rng.pick([1, 2, 3]);
    protocol.sessionRenewMs = rng.pick([100, 500, 2000]);
  }
  const valuesPerClient = rng.between(5, 40);
  // After healing the network is timely (see Simulation.timelyMs); ordering everything that is
  // queued then takes at least one round of 2a/2b per (window × batch) values, one after another.
  const timelyMs = Math.max(1, Math.floor((protocol.leaderTimeoutMs - 2 * heartbeat) / 2));
  const roundTripMs = 2 * Math.min(network.minDelayMs + network.jitterMs, timelyMs) + 2 * maxTick;
  const rounds = Math.ceil((shape.clients * (valuesPerClient + 1)) / (protocol.window * protocol.batchMaxValues));
  const livenessMs = Math.max(20_000,
    4 * (protocol.leaderTimeoutMs + protocol.retransmitMs + retry * 8 + protocol.catchupMs) +
    40 * (network.minDelayMs + network.jitterMs) + 3 * rounds * roundTripMs);
  return {
    seed, mix, shape, protocol,
    valuesPerClient,
    maxValueBytes,
    submitUntilMs: Math.max(500, healAtMs + rng.between(-1000, 500)),
    network, faults, healAtMs, livenessMs, clocks, wire,
    acceptorStorage: { sync: 'synced', fsyncMs: rng.pick([0, 1, 5]) },
  };
}

function everyone(shape: Scenario['shape']): NodeRef[] {
  const all: NodeRef[] = [];
  for (const group of GROUPS) {
    for (let id = 0; id < shape[group]; id++) all.push({ group, id });
  }
  return all;
}

/** Down for good: up to n - max(q1, q2) acceptors (so a new leader can still be elected) and/or all proposers but one. */
function permanentFailures(rng: Rng, shape: Scenario['shape'], protocol: ProtocolOptions, until: number): Fault[] {
  const n = shape.acceptors;
  const majority = Math.floor(n / 2) + 1;
  const spare = n - Math.max(protocol.phase1Quorum ?? majority, protocol.phase2Quorum ?? majority);
  const faults: Fault[] = [];
  const acceptors = spare > 0 && rng.chance(0.8) ? rng.between(1, spare) : 0;
  const ids = shuffle(rng, Array.from({ length: n }, (_, i) => i)).slice(0, acceptors);
  for (const id of ids) faults.push({ kind: 'crash', at: rng.int(until), node: { group: 'acceptors', id }, downMs: null });
  if (shape.proposers > 1 && (acceptors === 0 || rng.chance(0.7))) {
    const survivor = rng.int(shape.proposers);
    for (let id = 0; id < shape.proposers; id++) {
      if (id !== survivor) faults.push({ kind: 'crash', at: rng.int(until), node: { group: 'proposers', id }, downMs: null });
    }
  }
  return faults;
}

/**
 * For good: one proposer (usually the highest id, which the others defer to) keeps its links to
 * the proposers but loses them to all but q - 1 acceptors, so it can never gather a quorum; the
 * others stay fully connected and must take over.
 */
function isolatedProposer(rng: Rng, shape: Scenario['shape'], protocol: ProtocolOptions, until: number): Fault {
  const n = shape.acceptors;
  const majority = Math.floor(n / 2) + 1;
  const q = Math.min(protocol.phase1Quorum ?? majority, protocol.phase2Quorum ?? majority);
  const proposer: NodeRef = { group: 'proposers', id: rng.chance(0.7) ? shape.proposers - 1 : rng.int(shape.proposers) };
  const reachable = new Set(shuffle(rng, Array.from({ length: n }, (_, i) => i)).slice(0, q - 1));
  const links: [NodeRef, NodeRef][] = [];
  const oneWay = rng.int(3); // 0: both ways, 1: it cannot send to them, 2: it cannot hear them
  for (let id = 0; id < n; id++) {
    if (reachable.has(id)) continue;
    const acceptor: NodeRef = { group: 'acceptors', id };
    if (oneWay !== 2) links.push([proposer, acceptor]);
    if (oneWay !== 1) links.push([acceptor, proposer]);
  }
  return { kind: 'cut', at: rng.int(until), forMs: null, links };
}

/** The proposers stop hearing each other, again and again: each campaigns and trims while it leads. */
function proposersLoseSight(rng: Rng, shape: Scenario['shape'], until: number): Fault[] {
  const faults: Fault[] = [];
  const proposers: NodeRef[] = Array.from({ length: shape.proposers }, (_, id) => ({ group: 'proposers', id }));
  for (let at = rng.between(100, 400); at < until; at += rng.between(150, 600)) {
    const links: [NodeRef, NodeRef][] = [];
    for (const a of proposers) for (const b of proposers) if (a !== b && rng.chance(0.7)) links.push([a, b]);
    if (links.length) faults.push({ kind: 'cut', at, forMs: rng.between(50, 400), links });
  }
  return faults;
}

function crashSchedule(rng: Rng, shape: Scenario['shape'], protocol: ProtocolOptions, until: number, permanent: Fault[]): Fault[] {
  const faults: Fault[] = [];
  const n = shape.acceptors;
  const majority = Math.floor(n / 2) + 1;
  const minQuorum = Math.min(protocol.phase1Quorum ?? majority, protocol.phase2Quorum ?? majority);
  // Usually some quorum survives every crash; sometimes every acceptor may be down at once.
  const mayBeDown = rng.chance(0.2) ? n : Math.max(0, n - minQuorum);
  const acceptorDown: { from: number; to: number }[] = permanent
    .filter((f) => f.kind === 'crash' && f.node.group === 'acceptors')
    .map((f) => ({ from: f.at, to: Infinity }));
  const permanentNames = new Set(permanent.map((f) => f.kind === 'crash' ? nodeName(f.node) : ''));
  for (let at = rng.between(50, 600); at < until; at += rng.between(100, 800)) {
    const group = rng.pick<Group>(['proposers', 'proposers', 'acceptors', 'acceptors', 'learners', 'clients']);
    const id = rng.int(shape[group]);
    if (permanentNames.has(`${group}/${id}`)) continue;
    const downMs = rng.chance(0.3) ? rng.between(1, 20) : rng.between(50, 1500);
    if (group === 'acceptors') {
      const stillDown = acceptorDown.filter((d) => d.from <= at && d.to > at).length;
      if (stillDown >= mayBeDown) continue;
      acceptorDown.push({ from: at, to: at + downMs });
    }
    faults.push({ kind: 'crash', at, node: { group, id }, downMs });
  }
  return faults;
}

function partitionSchedule(rng: Rng, nodes: NodeRef[], until: number): Fault[] {
  const faults: Fault[] = [];
  for (let at = rng.between(100, 800); at < until; at += rng.between(300, 1200)) {
    const forMs = rng.between(1, 1000);
    const style = rng.int(3);
    if (style === 0) {
      faults.push({ kind: 'partition', at, forMs, side: nodes.filter(() => rng.chance(0.5)) });
    } else if (style === 1) {
      // One-way: some nodes stop hearing some others, who still hear them.
      const links: [NodeRef, NodeRef][] = [];
      for (const a of nodes) for (const b of nodes) if (a !== b && rng.chance(0.15)) links.push([a, b]);
      if (links.length) faults.push({ kind: 'cut', at, forMs, links });
    } else {
      // Non-transitive: A-B and B-C connected, A-C cut (both ways).
      const [a, , c] = shuffle(rng, [...nodes]);
      if (a && c) faults.push({ kind: 'cut', at, forMs, links: [[a, c], [c, a]] });
    }
  }
  return faults;
}

function stallSchedule(rng: Rng, nodes: NodeRef[], until: number): Fault[] {
  const faults: Fault[] = [];
  for (let at = rng.between(100, 1000); at < until; at += rng.between(200, 1500)) {
    faults.push({ kind: 'stall', at, forMs: rng.pick([5, 50, 300, 1000]), node: rng.pick(nodes) });
  }
  return faults;
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'crash': return `crash ${nodeName(f.node)} ${f.downMs === null ? 'for good' : `for ${f.downMs} ms`}`;
    case 'partition': return `partition {${f.side.map(nodeName).join(' ')}} | rest for ${f.forMs} ms`;
    case 'cut': return `cut ${f.links.map(([a, b]) => `${nodeName(a)}->${nodeName(b)}`).join(' ')} ` +
      (f.forMs === null ? 'for good' : `for ${f.forMs} ms`);
    case 'stall': return `stall ${nodeName(f.node)} for ${f.forMs} ms`;
  }
}

export function describeScenario(s: Scenario): string {
  const p = s.protocol;
  const { q1, q2 } = quorumsOf(s);
  const drift = Object.values(s.clocks).some((c) => c.rate !== 1);
  const ticks = [...new Set(Object.values(s.clocks).map((c) => c.tickMs))].sort((a, b) => a - b);
  const down = permanentlyDown(s).map(nodeName);
  return [
    `seed ${s.seed} (${s.mix}): ${s.shape.proposers}P ${s.shape.acceptors}A ${s.shape.learners}L ${s.shape.clients}C, ` +
      `q1 ${q1} q2 ${q2}, ${s.valuesPerClient} values/client (up to ${s.maxValueBytes} B) until ${s.submitUntilMs} ms`,
    `  protocol: window ${p.window}, batchMaxValues ${p.batchMaxValues}, batchMaxBytes ${p.batchMaxBytes}, ` +
      `catchupMaxInstances ${p.catchupMaxInstances}, ` +
      (p.learners ? `trim keeping ${p.trimKeepInstances} instances` : 'no trimming') +
      (p.maxSessions ? `, sessions: window ${p.sessionIdleInstances} instances, at most ${p.maxSessions}` : ''),
    `  timing: heartbeat ${p.heartbeatIntervalMs}, leader timeout ${p.leaderTimeoutMs}, retransmit ${p.retransmitMs}, ` +
      `client retry ${p.clientRetryMs}, catch-up ${p.catchupMs} ms; ticks ${ticks.join('/')} ms${drift ? ', drifting clocks' : ''}`,
    `  network: delay ${s.network.minDelayMs}+U(0,${s.network.jitterMs}) ms, loss ${s.network.loss}, duplicate ${s.network.duplicate}` +
      (s.network.partLoss ? `, ${s.network.partLoss.loss} more loss of ${s.network.partLoss.types.join('/')}` : '') +
      `${s.wire ? ', through the binary codec' : ''}`,
    `  acceptor storage: ${s.acceptorStorage.sync}, fsync ${s.acceptorStorage.fsyncMs} ms`,
    `  faults: ${s.faults.length}, heal at ${s.healAtMs} ms, liveness within ${s.livenessMs} ms after` +
      (down.length ? `; down for good: ${down.join(' ')}` : '') +
      (permanentCuts(s).length ? `; ${permanentCuts(s).length} links cut for good` : ''),
  ].join('\n');
}

export function describeFaults(s: Scenario): string[] {
  return s.faults.map((f) => `  t=${String(f.at).padStart(5)}  ${describeFault(f)}`);
}
