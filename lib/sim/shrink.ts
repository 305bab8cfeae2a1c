/**
 * Shrinking: reduce a failing scenario to a short one that still fails with the same invariant.
 * Runs are deterministic, so the search is a plain greedy loop: try a simpler variant (drop
 * faults, shorten them, fewer values, no loss, ideal clocks, fewer nodes, ...), keep it if it
 * still fails the same way, repeat until nothing simpler fails or the run budget is spent.
 */
import type { InvariantViolation } from './invariants.js';
import { type Fault, type NodeRef, type Scenario } from './scenario.js';
import { Simulation } from './simulation.js';

/** Whether a scenario fails "the same way": the violation, or undefined when it passes. */
export type FailureTest = (s: Scenario) => InvariantViolation | undefined;

export interface ShrinkOptions {
  /** Default: run the simulation and require the same invariant as the original failure. */
  fails?: FailureTest;
  /** Most simulation runs. Default 250. */
  maxRuns?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ShrinkResult {
  scenario: Scenario;
  violation: InvariantViolation;
  runs: number;
  /** The reductions kept, in order. */
  kept: string[];
}

const clone = (s: Scenario): Scenario => JSON.parse(JSON.stringify(s)) as Scenario;

export function runScenario(s: Scenario): InvariantViolation | undefined {
  return new Simulation(s).run().violation;
}

/** Undefined when `scenario` does not fail in the first place. */
export function shrink(scenario: Scenario, o: ShrinkOptions = {}): ShrinkResult | undefined {
  const maxRuns = o.maxRuns ?? 250;
  const first = (o.fails ?? runScenario)(scenario);
  if (!first) return undefined;
  const fails: FailureTest = o.fails ?? ((s) => {
    const v = runScenario(s);
    return v && v.invariant === first.invariant ? v : undefined;
  });
  let current = clone(scenario);
  let violation = first;
  let runs = 1;
  const kept: string[] = [];
  let progress = true;
  while (progress && runs < maxRuns) {
    progress = false;
    for (const [label, candidate] of candidates(current)) {
      if (runs >= maxRuns) break;
      if (!candidate) continue;
      runs++;
      const v = fails(candidate);
      if (!v) continue;
      current = candidate;
      violation = v;
      kept.push(label);
      o.log?.(`shrink: kept "${label}" (${current.faults.length} faults, run ${runs})`);
      progress = true;
      break; // restart from the simplest reductions of the new scenario
    }
  }
  return { scenario: current, violation, runs, kept };
}

type Candidate = [string, Scenario | undefined];

/** Simpler variants of `s`, the most drastic first. */
function* candidates(s: Scenario): Generator<Candidate> {
  // Faults: drop chunks (halves, quarters, ...), then one by one.
  const n = s.faults.length;
  for (let size = n; size >= 1; size = Math.floor(size / 2)) {
    for (let start = 0; start < n; start += size) {
      const faults = s.faults.filter((_, i) => i < start || i >= start + size);
      yield [`drop faults ${start}..${Math.min(n, start + size) - 1}`, { ...clone(s), faults }];
    }
    if (size === 1) break;
  }
  if (s.network.loss > 0) yield ['no loss', withNetwork(s, { loss: 0 })];
  if (s.network.duplicate > 0) yield ['no duplicates', withNetwork(s, { duplicate: 0 })];
  if (s.network.jitterMs > 0) yield ['no jitter', withNetwork(s, { jitterMs: 0 })];
  if (s.network.minDelayMs > 1) yield ['1 ms delay', withNetwork(s, { minDelayMs: 1 })];
  if (s.wire) yield ['no wire', { ...clone(s), wire: false }];
  if (Object.values(s.clocks).some((c) => c.rate !== 1 || c.offsetMs !== 0)) {
    const c = clone(s);
    for (const k of Object.keys(c.clocks)) c.clocks[k] = { ...c.clocks[k]!, rate: 1, offsetMs: 0 };
    yield ['ideal clocks', c];
  }
  if (s.transfers) yield ['no leadership transfers', { ...clone(s), transfers: 0 }];
  if (s.reconfigurations?.length) {
    yield ['one membership change less', { ...clone(s), reconfigurations: s.reconfigurations.slice(0, -1) }];
    const c = clone(s);
    delete c.reconfigurations;
    yield ['no membership change', c];
  }
  if (s.learnerState) {
    const c = clone(s);
    delete c.learnerState;
    c.protocol.stateSnapshots = false;
    yield ['no application state', c];
    if (s.learnerState.padding > 0) yield ['unpadded application state', { ...clone(s), learnerState: { ...s.learnerState, padding: 0 } }];
  }
  if (s.barriersPerClient) {
    yield ['no read barriers', { ...clone(s), barriersPerClient: 0 }];
    yield ['half the read barriers', { ...clone(s), barriersPerClient: Math.floor(s.barriersPerClient / 2) }];
  }
  if (s.valuesPerClient > 1) {
    yield ['1 value per client', { ...clone(s), valuesPerClient: 1 }];
    yield ['half the values', { ...clone(s), valuesPerClient: Math.max(1, Math.floor(s.valuesPerClient / 2)) }];
    yield ['one value less', { ...clone(s), valuesPerClient: s.valuesPerClient - 1 }];
  }
  for (const group of ['clients', 'learners', 'proposers'] as const) {
    if (s.shape[group] > 1) yield [`one ${group.slice(0, -1)} less`, withoutLast(s, group)];
  }
  // Shorter, smaller faults.
  for (let i = 0; i < s.faults.length; i++) {
    const f = s.faults[i]!;
    for (const [label, g] of simplerFault(f, s.healAtMs)) {
      const c = clone(s);
      c.faults[i] = g;
      yield [`fault ${i}: ${label}`, c];
    }
  }
  if (s.submitUntilMs > 500) yield ['submit until 500 ms', { ...clone(s), submitUntilMs: 500 }];
}

function withNetwork(s: Scenario, change: Partial<Scenario['network']>): Scenario {
  const c = clone(s);
  c.network = { ...c.network, ...change };
  return c;
}

const refers = (f: Fault, group: string, id: number): boolean => {
  const is = (r: NodeRef): boolean => r.group === group && r.id === id;
  switch (f.kind) {
    case 'crash':
    case 'stall': return is(f.node);
    case 'partition': return false;
    case 'cut': return f.links.some(([a, b]) => is(a) || is(b));
  }
};

function withoutLast(s: Scenario, group: 'clients' | 'learners' | 'proposers'): Scenario {
  const c = clone(s);
  const id = c.shape[group] - 1;
  c.shape[group] = id;
  if (group === 'proposers') c.protocol.proposers = id;
  if (group === 'learners' && c.protocol.trimAfterLearners) c.protocol.trimAfterLearners = id;
  delete c.clocks[`${group}/${id}`];
  c.faults = c.faults.filter((f) => !refers(f, group, id)).map((f) =>
    f.kind === 'partition' ? { ...f, side: f.side.filter((r) => !(r.group === group && r.id === id)) } : f);
  return c;
}

function* simplerFault(f: Fault, healAtMs: number): Generator<[string, Fault]> {
  switch (f.kind) {
    case 'crash':
      if (f.downMs === null) yield ['restart at healing', { ...f, downMs: Math.max(1, healAtMs - f.at) }];
      else if (f.downMs > 1) {
        yield ['down 1 ms', { ...f, downMs: 1 }];
        yield ['down half as long', { ...f, downMs: Math.max(1, Math.floor(f.downMs / 2)) }];
      }
      return;
    case 'stall':
    case 'partition':
    case 'cut':
      if (f.forMs === null) yield ['mended at healing', { ...f, forMs: Math.max(1, healAtMs - f.at) }];
      else if (f.forMs > 1) yield ['half as long', { ...f, forMs: Math.max(1, Math.floor(f.forMs / 2)) }];
      if (f.kind === 'partition' && f.side.length > 1) {
        for (let i = 0; i < f.side.length; i++) yield [`side without ${f.side[i]!.group}/${f.side[i]!.id}`, { ...f, side: f.side.filter((_, j) => j !== i) }];
      }
      if (f.kind === 'cut' && f.links.length > 1) {
        for (let i = 0; i < f.links.length; i++) yield [`without link ${i}`, { ...f, links: f.links.filter((_, j) => j !== i) }];
      }
  }
}
