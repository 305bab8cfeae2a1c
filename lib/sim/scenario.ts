/**
 * A scenario is everything a simulated run depends on, drawn from one seed: cluster shape,
 * quorums, protocol options, network behaviour, per-node clocks and a fault schedule. It is plain
 * JSON-able data: printing it explains a failing seed, the shrinker edits it, and
 * `npm run sim -- --scenario FILE` replays a saved (or shrunk) one.
 */
import type { MessageType } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import { drawFaults } from './fault-schedule.js';
import { type NodeRef, nodeName } from './node-ref.js';
import { Rng } from './rng.js';
import { drawMembership } from './membership-draws.js';
import { drawClocks, drawNetwork, drawProtocol, drawSessions, drawShape, livenessBudgetMs } from './scenario-draws.js';

export { type NodeRef, nodeName } from './node-ref.js';

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

/**
 * One membership change the run asks for: the acceptors (slot ids) of the next epoch and its
 * quorums (absent: majorities), from `at` on or once the change before it holds.
 */
export interface Reconfiguration {
  at: number;
  acceptors: number[];
  phase1Quorum?: number;
  phase2Quorum?: number;
  /**
   * Another proposer asks for the same epoch at the same time with the same acceptors but
   * majority quorums (only for flexible ones, which are never less live): two stop-signs race,
   * the log decides which holds.
   */
  rival?: boolean;
}

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
  /**
   * Read barriers each client asks for, spread over the run (their times come from the seed
   * apart from the rest, see `barrierTimes`). Absent in scenarios saved before barriers: none.
   */
  barriersPerClient?: number;
  /** Leadership transfers the run asks of whichever proposer leads then (to a random other one), from the seed like barriers. */
  transfers?: number;
  /**
   * Applications above the learners keep state (protocol option `stateSnapshots`): they snapshot
   * every `every` instances, each state padded with `padding` bytes so that it spans chunks; a
   * learner's newest state survives its crashes, but for the share `wipe` of restarts, where it
   * comes back with an empty disk (a replaced machine) while another learner still holds a state.
   * `lag`: the application hands a state over only after that many later points were marked (an
   * application behind its learner, as in the cluster).
   * Drawn from the seed apart from the rest (only with trimming); absent: none.
   */
  learnerState?: { every: number; padding: number; wipe: number; lag?: number };
  /**
   * Membership changes, in order (see membership-draws.ts; epoch 0 is `protocol.initialAcceptors`).
   * The run asks each through a live proposer of the epoch before, again every `clientRetryMs`
   * until it holds. Absent: the acceptors never change.
   */
  reconfigurations?: Reconfiguration[];
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

export function quorumsOf(s: Scenario): { q1: number; q2: number } {
  const majority = Math.floor((s.protocol.initialAcceptors?.length ?? s.shape.acceptors) / 2) + 1;
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

const BARRIER_SEED = 0xba771e5;
const TRANSFER_SEED = 0x7a4e0fe;
const STATE_SEED = 0x57a7e5;

/**
 * Half of the trimming scenarios keep application state; sets the protocol options that go with
 * it, and (with two learners or more, before healing) crashes a learner or two more, so that
 * restarts with an empty disk meet a trimmed log and fetch a peer's state.
 */
function drawLearnerState(s: Scenario): void {
  const rng = new Rng(s.seed ^ STATE_SEED);
  if (!s.protocol.trimAfterLearners || !rng.chance(0.5)) return;
  s.protocol.stateSnapshots = true;
  s.protocol.stateChunkBytes = rng.pick([16, 100, 1000, 32 * 1024]);
  s.learnerState = { every: rng.pick([1, 3, 10, 40]), padding: rng.pick([0, 50, 500, 3000]), wipe: rng.pick([0, 0.5, 1]), lag: rng.pick([0, 1, 3]) };
  if (s.shape.learners < 2 || s.healAtMs === 0) return;
  // State chunks are large multi-part answers too: lose some of them more, so fetches re-ask and switch sources.
  if (s.mix !== 'calm' && rng.chance(0.5)) {
    const loss = rng.pick([0.2, 0.5]);
    s.network.partLoss = { types: [...(s.network.partLoss?.types ?? []), 'stateChunk'], loss: Math.max(loss, s.network.partLoss?.loss ?? 0) };
  }
  for (let n = rng.between(0, 2); n > 0; n--) {
    const node = { group: 'learners', id: rng.int(s.shape.learners) } as const;
    s.faults.push({ kind: 'crash', at: Math.floor(rng.next() * s.healAtMs), node, downMs: rng.between(20, 1000) });
  }
}

/** When the run asks for each leadership transfer, and a number in [0, 1) that picks its target. */
export function transferTimes(s: Scenario): { at: number; pick: number }[] {
  const rng = new Rng(s.seed ^ TRANSFER_SEED ^ 0x7111e5);
  const until = Math.max(s.submitUntilMs, s.healAtMs) + 500;
  return Array.from({ length: s.transfers ?? 0 }, () => ({ at: rng.next() * until, pick: rng.next() }));
}

/** When each client asks its read barriers: `barriersPerClient` times per client, from the seed. */
export function barrierTimes(s: Scenario): number[][] {
  const rng = new Rng(s.seed ^ BARRIER_SEED ^ 0x7111e5);
  const until = Math.max(s.submitUntilMs, s.healAtMs);
  return Array.from({ length: s.shape.clients }, () => Array.from({ length: s.barriersPerClient ?? 0 }, () => rng.next() * until));
}

export function scenarioFromSeed(seed: number, mixOverride?: FaultMix): Scenario {
  const rng = new Rng(seed);
  const mix = mixOverride ?? FAULT_MIXES[seed % FAULT_MIXES.length]!;
  const handover = mix === 'handover';
  const shape = drawShape(rng, handover);
  const wire = rng.chance(1 / 3);
  const { protocol, maxValueBytes } = drawProtocol(rng, shape, wire, handover);
  const slow = rng.chance(0.15);
  const network = drawNetwork(rng, mix, slow);
  const { clocks, maxTick } = drawClocks(rng, shape, protocol.heartbeatIntervalMs);
  const healAtMs = mix !== 'calm' || slow ? rng.between(1500, 4000) : 0;
  const faults = drawFaults(rng, mix, shape, protocol, healAtMs);
  if (rng.chance(0.25)) drawSessions(rng, protocol);
  const valuesPerClient = rng.between(5, 40);
  const scenario: Scenario = {
    seed, mix, shape, protocol,
    valuesPerClient,
    // Its own stream: adding barriers changed no other draw of a seed.
    barriersPerClient: new Rng(seed ^ BARRIER_SEED).pick([0, 10, 50, 200]),
    transfers: shape.proposers > 1 ? new Rng(seed ^ TRANSFER_SEED).pick([0, 0, 2, 10]) : 0,
    maxValueBytes,
    submitUntilMs: Math.max(500, healAtMs + rng.between(-1000, 500)),
    network, faults, healAtMs,
    livenessMs: livenessBudgetMs(shape, protocol, network, valuesPerClient, maxTick),
    clocks, wire,
    acceptorStorage: { sync: 'synced', fsyncMs: rng.pick([0, 1, 5]) },
  };
  drawLearnerState(scenario); // after every other draw, from its own stream: no other draw changed
  drawMembership(scenario); // likewise
  return scenario;
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
      `q1 ${q1} q2 ${q2}, ${s.valuesPerClient} values/client (up to ${s.maxValueBytes} B) until ${s.submitUntilMs} ms` +
      (s.barriersPerClient ? `, ${s.barriersPerClient} read barriers/client` : '') +
      (s.transfers ? `, ${s.transfers} leadership transfers` : '') +
      (s.reconfigurations ? `\n  membership: epoch 0 acceptors ${s.protocol.initialAcceptors?.join(',')}; then ` +
        s.reconfigurations.map((r) => `${r.acceptors.join(',')}${r.phase1Quorum ? ` (q1 ${r.phase1Quorum} q2 ${r.phase2Quorum})` : ''} at ${r.at} ms`).join('; ') : ''),
    `  protocol: window ${p.window}, batchMaxValues ${p.batchMaxValues}, batchMaxBytes ${p.batchMaxBytes}, ` +
      `catchupMaxInstances ${p.catchupMaxInstances}, ` +
      (p.trimAfterLearners ? `trim keeping ${p.trimKeepInstances} instances` : 'no trimming') +
      (s.learnerState ? `, application state every ${s.learnerState.every} instances (+${s.learnerState.padding} B) in ${p.stateChunkBytes} B chunks, ${s.learnerState.wipe * 100}% of restarts with an empty disk` : '') +
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
