/**
 * The parts of a scenario drawn from its seed: cluster shape, protocol options, network, clocks,
 * sessions, and the liveness budget that follows from them. `scenarioFromSeed` calls these in a
 * fixed order on one stream of randomness; every draw here, and its order, is part of what a seed
 * means, so reordering them changes every seed's scenario.
 */
import type { ProtocolOptions } from '../protocol/options.js';
import { MAX_BATCH_BYTES_FOR_DATAGRAM } from '../transport/codec.js';
import { timelyBoundMs } from './network.js';
import { everyone, nodeName } from './node-ref.js';
import type { Rng } from './rng.js';
import type { FaultMix, NetworkBehaviour, NodeClock, Scenario } from './scenario.js';

type Shape = Scenario['shape'];

/** Protocol options with the timing and batching every scenario sets. */
export type DrawnProtocol = ProtocolOptions &
  Required<Pick<ProtocolOptions, 'heartbeatIntervalMs' | 'leaderTimeoutMs' | 'retransmitMs' | 'clientRetryMs' | 'catchupMs' | 'window' | 'batchMaxValues'>>;

export function drawShape(rng: Rng, handover: boolean): Shape {
  const shape = {
    proposers: rng.between(1, 4),
    acceptors: rng.between(1, 7),
    learners: rng.between(1, 3),
    clients: rng.between(1, 4),
  };
  if (handover) {
    shape.proposers = Math.max(2, shape.proposers);
    shape.acceptors = rng.pick([3, 3, 3, 5]);
  }
  return shape;
}

/** The protocol options, and the largest value drawn (it always fits `batchMaxBytes`). */
export function drawProtocol(rng: Rng, shape: Shape, wire: boolean, handover: boolean): { protocol: DrawnProtocol; maxValueBytes: number } {
  const n = shape.acceptors;
  // Any valid flexible pair: q1 + q2 > n.
  const q1 = rng.chance(0.5) ? rng.between(1, n) : undefined;
  const quorums = q1 === undefined ? {} : { phase1Quorum: q1, phase2Quorum: rng.between(n - q1 + 1, n) };
  const heartbeatIntervalMs = rng.pick([5, 10, 20, 20, 50]);
  const protocol: DrawnProtocol = {
    proposers: shape.proposers, acceptors: n, ...quorums,
    heartbeatIntervalMs,
    leaderTimeoutMs: heartbeatIntervalMs * rng.between(3, 12),
    retransmitMs: rng.pick([10, 30, 100, 100, 300]),
    clientRetryMs: rng.pick([50, 200, 400, 400, 1000]),
    catchupMs: rng.pick([10, 60, 60, 200]),
    catchupMaxInstances: rng.pick([1, 4, 64, 512]),
    window: rng.pick([1, 2, 4, 32, 256]),
    batchMaxValues: rng.pick([1, 3, 8, 64, 4096]),
  };
  // Small limits force multi-chunk promises, catch-up answers and submits.
  const bigValues = rng.chance(0.1);
  protocol.batchMaxBytes = bigValues
    ? rng.pick([4096, 48 * 1024, MAX_BATCH_BYTES_FOR_DATAGRAM])
    : rng.pick([100, 150, 200, 300, 1024, 48 * 1024]);
  if (wire) protocol.batchMaxBytes = Math.min(protocol.batchMaxBytes, MAX_BATCH_BYTES_FOR_DATAGRAM);
  let maxValueBytes = bigValues ? Math.min(protocol.batchMaxBytes - 24, rng.pick([500, 2000, 8000])) : 8;
  if (rng.chance(0.6)) {
    // Trim aggressively, so that restarted proposers and learners meet trimmed logs.
    protocol.trimAfterLearners = shape.learners;
    protocol.trimKeepInstances = rng.pick([1, 1, 2, 8, 64]);
  }
  if (handover) {
    protocol.trimAfterLearners = shape.learners;
    protocol.trimKeepInstances = 1;
    protocol.batchMaxBytes = rng.pick([80, 80, 150]); // 80: every accepted entry is a promise chunk of its own
    protocol.batchMaxValues = rng.pick([1, 1, 2]);
    protocol.retransmitMs = rng.pick([10, 20]);
    protocol.window = rng.pick([2, 4, 8]);
    maxValueBytes = Math.min(maxValueBytes, protocol.batchMaxBytes - 24);
  }
  return { protocol, maxValueBytes };
}

/** `slow`: delays beyond the retransmit interval and the leader timeout. */
export function drawNetwork(rng: Rng, mix: FaultMix, slow: boolean): NetworkBehaviour {
  const faulty = mix !== 'calm';
  const network: NetworkBehaviour = {
    minDelayMs: slow ? rng.pick([20, 100]) : rng.between(0, 3),
    jitterMs: slow ? rng.pick([150, 500, 1500]) : rng.pick([0, 2, 10, 40]),
    loss: mix === 'lossy' || mix === 'chaos' ? rng.pick([0.01, 0.1, 0.3, 0.5]) : 0,
    duplicate: faulty ? rng.pick([0, 0.05, 0.2]) : 0,
  };
  if (mix === 'handover') {
    network.jitterMs = rng.pick([10, 20, 40]);
    network.loss = rng.pick([0.05, 0.1, 0.2]);
    // Promise chunks and trimmed answers (both in parts) lose some parts more than others.
    network.partLoss = { types: ['promise', 'trimmed'], loss: rng.pick([0.3, 0.5]) };
  } else if (faulty && rng.chance(0.3)) {
    network.partLoss = { types: rng.pick([['promise'], ['promise', 'trim', 'trimmed'], ['trim', 'trimmed']]), loss: rng.pick([0.2, 0.4, 0.6]) };
  }
  return network;
}

/** Every node's tick period (at most `maxTick`, which stays below the heartbeat) and, sometimes, drift. */
export function drawClocks(rng: Rng, shape: Shape, heartbeatMs: number): { clocks: Record<string, NodeClock>; maxTick: number } {
  const clocks: Record<string, NodeClock> = {};
  const drift = rng.chance(0.4);
  const maxTick = Math.max(1, Math.min(heartbeatMs, 20));
  const uniformTick = rng.pick([1, 5, 10].filter((t) => t <= maxTick));
  const perNodeTicks = rng.chance(0.5);
  for (const node of everyone(shape)) {
    clocks[nodeName(node)] = {
      tickMs: perNodeTicks ? rng.between(1, maxTick) : uniformTick ?? 1,
      rate: drift ? 1 + (rng.next() - 0.5) * rng.pick([0.02, 0.1]) : 1,
      offsetMs: drift ? rng.int(100_000) : 0,
    };
  }
  return { clocks, maxTick };
}

/** A short deduplication window and few sessions: sessions retire while values are pending. */
export function drawSessions(rng: Rng, protocol: ProtocolOptions): void {
  protocol.sessionIdleInstances = rng.pick([64, 128, 500]);
  protocol.maxSessions = rng.pick([1, 2, 3]);
  protocol.sessionRenewMs = rng.pick([100, 500, 2000]);
}

/**
 * How long after healing every value must be delivered everywhere. The network is timely then
 * (see `timelyBoundMs`); ordering everything that is queued takes at least one round of 2a/2b
 * per (window × batch) values, one after another.
 */
export function livenessBudgetMs(shape: Shape, protocol: DrawnProtocol, network: NetworkBehaviour, valuesPerClient: number, maxTick: number): number {
  const timelyMs = timelyBoundMs(protocol.leaderTimeoutMs, protocol.heartbeatIntervalMs);
  const roundTripMs = 2 * Math.min(network.minDelayMs + network.jitterMs, timelyMs) + 2 * maxTick;
  const rounds = Math.ceil((shape.clients * (valuesPerClient + 1)) / (protocol.window * protocol.batchMaxValues));
  return Math.max(20_000,
    4 * (protocol.leaderTimeoutMs + protocol.retransmitMs + protocol.clientRetryMs * 8 + protocol.catchupMs) +
    40 * (network.minDelayMs + network.jitterMs) + 3 * rounds * roundTripMs);
}
