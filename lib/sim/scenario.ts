/**
 * A scenario is everything a simulated run depends on, drawn from one seed: cluster shape,
 * protocol options, network behaviour and a fault schedule. Printing it explains a failing seed.
 */
import type { Group } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import { Rng } from './rng.js';

export type FaultMix = 'calm' | 'lossy' | 'crashes' | 'partitions' | 'chaos';
export const FAULT_MIXES: readonly FaultMix[] = ['calm', 'lossy', 'crashes', 'partitions', 'chaos'];

export interface NetworkBehaviour {
  /** Every message takes at least this long. */
  minDelayMs: number;
  /** Plus a uniformly random extra delay up to this (which also reorders). */
  jitterMs: number;
  /** Probability a message copy is dropped. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
}

export type FaultEvent =
  | { at: number; kind: 'crash'; group: Group; id: number }
  | { at: number; kind: 'restart'; group: Group; id: number }
  | { at: number; kind: 'partition'; side: { group: Group; id: number }[] }
  | { at: number; kind: 'heal-partition' };

export interface Scenario {
  seed: number;
  mix: FaultMix;
  shape: { proposers: number; acceptors: number; learners: number; clients: number };
  protocol: ProtocolOptions;
  /** Values each client submits, spread over [0, submitUntilMs]. */
  valuesPerClient: number;
  submitUntilMs: number;
  network: NetworkBehaviour;
  faults: FaultEvent[];
  /** From here on: no loss, no partition, every crashed node restarted. */
  healAtMs: number;
  /** Every value must be delivered everywhere within this long after healing. */
  livenessMs: number;
  tickMs: number;
  /**
   * How acceptors persist. 'synced': a step's answers leave only after its writes reached the
   * disk image, `fsyncMs` later (group commit); a crash loses unsynced writes and held answers.
   * 'none': answers leave at once and writes reach the disk later: unsafe across crashes.
   */
  acceptorStorage: { sync: 'synced' | 'none'; fsyncMs: number };
}

export function scenarioFromSeed(seed: number, mixOverride?: FaultMix): Scenario {
  const rng = new Rng(seed);
  const mix = mixOverride ?? FAULT_MIXES[seed % FAULT_MIXES.length]!;
  const shape = {
    proposers: rng.between(1, 3),
    acceptors: rng.pick([3, 3, 5]),
    learners: rng.between(1, 3),
    clients: rng.between(1, 3),
  };
  const protocol: ProtocolOptions = {
    proposers: shape.proposers,
    acceptors: shape.acceptors,
    window: rng.pick([1, 4, 32, 256]),
    batchMaxValues: rng.pick([1, 8, 64]),
    catchupMaxInstances: rng.pick([4, 64, 512]),
    // Small limits force multi-chunk promises, catch-up answers and submits.
    batchMaxBytes: rng.pick([200, 48 * 1024]),
  };
  if (rng.chance(0.5)) {
    // Trim aggressively, so that restarted proposers and learners meet trimmed logs.
    protocol.learners = shape.learners;
    protocol.trimKeepInstances = rng.pick([2, 8, 64]);
  }
  const faulty = mix !== 'calm';
  const network: NetworkBehaviour = {
    minDelayMs: rng.between(1, 3),
    jitterMs: rng.pick([0, 2, 10, 40]),
    loss: mix === 'lossy' || mix === 'chaos' ? rng.pick([0.01, 0.1, 0.3]) : 0,
    duplicate: faulty ? rng.pick([0, 0.05, 0.2]) : 0,
  };
  const healAtMs = faulty ? rng.between(1500, 4000) : 0;
  const faults: FaultEvent[] = [];
  if (mix === 'crashes' || mix === 'chaos') faults.push(...crashSchedule(rng, shape, healAtMs));
  if (mix === 'partitions' || mix === 'chaos') faults.push(...partitionSchedule(rng, shape, healAtMs));
  faults.sort((a, b) => a.at - b.at);
  return {
    seed, mix, shape, protocol,
    valuesPerClient: rng.between(10, 60),
    submitUntilMs: Math.max(500, healAtMs + rng.between(-1000, 500)),
    network, faults, healAtMs,
    livenessMs: 20_000,
    tickMs: 10,
    acceptorStorage: { sync: 'synced', fsyncMs: rng.pick([0, 1, 5]) },
  };
}

function crashSchedule(rng: Rng, shape: Scenario['shape'], until: number): FaultEvent[] {
  const events: FaultEvent[] = [];
  const minority = Math.floor((shape.acceptors - 1) / 2);
  const acceptorDownUntil: number[] = [];
  for (let at = rng.between(100, 600); at < until; at += rng.between(150, 800)) {
    const group = rng.pick<Group>(['proposers', 'proposers', 'acceptors', 'learners', 'clients']);
    const count = shape[group];
    const id = rng.int(count);
    const downFor = rng.between(50, 1500);
    if (group === 'acceptors') {
      const stillDown = acceptorDownUntil.filter((t) => t > at).length;
      if (stillDown >= minority) continue; // a majority of acceptors must survive
      acceptorDownUntil.push(at + downFor);
    }
    events.push({ at, kind: 'crash', group, id });
    if (at + downFor < until) events.push({ at: at + downFor, kind: 'restart', group, id });
  }
  return events;
}

function partitionSchedule(rng: Rng, shape: Scenario['shape'], until: number): FaultEvent[] {
  const events: FaultEvent[] = [];
  const everyone: { group: Group; id: number }[] = [];
  for (const group of ['clients', 'proposers', 'acceptors', 'learners'] as const) {
    for (let id = 0; id < shape[group]; id++) everyone.push({ group, id });
  }
  for (let at = rng.between(100, 800); at < until; at += rng.between(300, 1200)) {
    const side = everyone.filter(() => rng.chance(0.5));
    const lasts = rng.between(100, 1000);
    events.push({ at, kind: 'partition', side });
    events.push({ at: Math.min(at + lasts, until), kind: 'heal-partition' });
  }
  return events;
}

export function describeScenario(s: Scenario): string {
  const p = s.protocol;
  return [
    `seed ${s.seed} (${s.mix}): ${s.shape.proposers}P ${s.shape.acceptors}A ${s.shape.learners}L ${s.shape.clients}C, ` +
      `${s.valuesPerClient} values/client until ${s.submitUntilMs} ms`,
    `  protocol: window ${p.window}, batchMaxValues ${p.batchMaxValues}, batchMaxBytes ${p.batchMaxBytes}, ` +
      `catchupMaxInstances ${p.catchupMaxInstances}, ` +
      (p.learners ? `trim keeping ${p.trimKeepInstances} instances` : 'no trimming'),
    `  network: delay ${s.network.minDelayMs}+U(0,${s.network.jitterMs}) ms, loss ${s.network.loss}, duplicate ${s.network.duplicate}`,
    `  acceptor storage: ${s.acceptorStorage.sync}, fsync ${s.acceptorStorage.fsyncMs} ms\n` +
    `  faults: ${s.faults.length} events, heal at ${s.healAtMs} ms, liveness within ${s.livenessMs} ms after`,
  ].join('\n');
}
