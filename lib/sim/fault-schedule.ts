/**
 * The fault schedule of a scenario, drawn from its seed: which faults a fault mix gets (crashes,
 * some for good, partitions and cut links, stalls), when, and for how long. Every fault ends by
 * healing but the permanent ones.
 */
import type { Group } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import { type NodeRef, everyone, nodeName } from './node-ref.js';
import type { Rng } from './rng.js';
import type { Fault, FaultMix, Scenario } from './scenario.js';

/** Every fault of `mix` before `healAtMs` (and the permanent ones), in time order. */
export function drawFaults(rng: Rng, mix: FaultMix, shape: Scenario['shape'], protocol: ProtocolOptions, healAtMs: number): Fault[] {
  const nodes = everyone(shape);
  const faults: Fault[] = [];
  const permanent = mix !== 'calm' && mix !== 'lossy' && rng.chance(0.25) ? permanentFailures(rng, shape, protocol, healAtMs) : [];
  faults.push(...permanent);
  if ((mix === 'partitions' || mix === 'chaos') && shape.proposers > 1 && permanent.length === 0 && rng.chance(0.2)) {
    faults.push(isolatedProposer(rng, shape, protocol, healAtMs));
  }
  if (mix === 'crashes' || mix === 'chaos') faults.push(...crashSchedule(rng, shape, protocol, healAtMs, permanent));
  if (mix === 'handover') faults.push(...proposersLoseSight(rng, shape, healAtMs));
  if (mix === 'partitions' || mix === 'chaos') faults.push(...partitionSchedule(rng, nodes, healAtMs));
  if ((mix === 'partitions' || mix === 'chaos') && shape.proposers > 1 && rng.chance(0.5)) faults.push(...pausedLeader(rng, shape, protocol, healAtMs));
  if ((mix === 'crashes' || mix === 'chaos' || mix === 'partitions') && rng.chance(0.5)) faults.push(...stallSchedule(rng, nodes, healAtMs));
  faults.sort((a, b) => a.at - b.at);
  return faults;
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

/**
 * The old leader's pause (a GC pause, a stopped VM): the leader (usually the highest id) and a
 * client are cut off from everyone else, and the leader stalls for longer than the leader timeout
 * right after. The others elect a new leader and decide values meanwhile; when the old one
 * resumes, it works off what queued up (the client's requests first) before its next tick can
 * notice it lost its quorum, cut off still or back among acceptors that promised the new leader. Anything it answers from its own view then is stale, which only a
 * quorum-confirmed answer (a read barrier's confirm round) rules out, not timing.
 */
function pausedLeader(rng: Rng, shape: Scenario['shape'], protocol: ProtocolOptions, until: number): Fault[] {
  const leader: NodeRef = { group: 'proposers', id: rng.chance(0.8) ? shape.proposers - 1 : rng.int(shape.proposers) };
  const client: NodeRef = { group: 'clients', id: rng.int(shape.clients) };
  const at = rng.between(100, Math.max(200, until - 500));
  const pauseMs = (protocol.leaderTimeoutMs ?? 200) * rng.pick([2, 4, 8]);
  return [
    // The cut may heal before the pause ends: the leader then resumes among acceptors that promised a rival.
    { kind: 'partition', at, forMs: pauseMs + rng.between(-Math.floor(pauseMs / 2), 500), side: [leader, client] },
    { kind: 'stall', at: at + rng.between(0, 20), forMs: pauseMs, node: leader },
  ];
}

function stallSchedule(rng: Rng, nodes: NodeRef[], until: number): Fault[] {
  const faults: Fault[] = [];
  for (let at = rng.between(100, 1000); at < until; at += rng.between(200, 1500)) {
    faults.push({ kind: 'stall', at, forMs: rng.pick([5, 50, 300, 1000]), node: rng.pick(nodes) });
  }
  return faults;
}

export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
