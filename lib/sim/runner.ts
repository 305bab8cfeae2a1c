/** Running seeds and reporting them; shared by the CLI and the test suite. */
import { Simulation } from './simulation.js';
import { type FaultMix, type Scenario, describeFaults, describeScenario, scenarioFromSeed } from './scenario.js';
import { shrink } from './shrink.js';

export interface SeedsSummary {
  seeds: number;
  delivered: number;
  events: number;
  /** Membership changes that took effect, over all seeds. */
  epochs: number;
  failures: { seed: number; violation: string }[];
  elapsedMs: number;
}

export interface RunSeedsOptions {
  from: number;
  count: number;
  mix?: FaultMix | undefined;
  stopOnFailure?: boolean;
  print?: (line: string) => void;
}

export function runSeeds(o: RunSeedsOptions): SeedsSummary {
  const started = Date.now();
  const summary: SeedsSummary = { seeds: 0, delivered: 0, events: 0, epochs: 0, failures: [], elapsedMs: 0 };
  for (let seed = o.from; seed < o.from + o.count; seed++) {
    const result = new Simulation(scenarioFromSeed(seed, o.mix)).run();
    summary.seeds++;
    summary.delivered += result.delivered;
    summary.events += result.events;
    summary.epochs += result.epochs;
    if (!result.ok) {
      summary.failures.push({ seed, violation: result.violation!.message });
      o.print?.(`seed ${seed} FAILED ${result.violation!.message}  (replay: npm run sim -- --seed ${seed}${o.mix ? ` --mix ${o.mix}` : ''})`);
      if (o.stopOnFailure) break;
    }
  }
  summary.elapsedMs = Date.now() - started;
  o.print?.(`sim: ${summary.seeds} seeds, ${summary.delivered} values delivered, ${summary.epochs} membership changes, ${summary.events} events, ` +
    `${summary.failures.length} violations, ${(summary.elapsedMs / 1000).toFixed(1)} s`);
  if (summary.failures.length) {
    const byInvariant = new Map<string, number[]>();
    for (const f of summary.failures) {
      const name = f.violation.split(':')[0]!;
      byInvariant.set(name, [...(byInvariant.get(name) ?? []), f.seed]);
    }
    o.print?.(`by invariant: ${[...byInvariant].map(([name, seeds]) =>
      `${name} ${seeds.length} (seeds ${seeds.slice(0, 5).join(' ')}${seeds.length > 5 ? ' ...' : ''})`).join('; ')}`);
  }
  return summary;
}

export interface RunOneOptions {
  mix?: FaultMix | undefined;
  trace?: boolean;
  /** Events of history printed for a failure. Default 60. */
  historySize?: number;
  /** Leave heartbeats and progress reports out of the history. */
  quiet?: boolean;
  print: (line: string) => void;
}

export function runOne(seed: number, o: RunOneOptions): boolean {
  return runScenarioReport(scenarioFromSeed(seed, o.mix), o);
}

/** Run one scenario, printing it, its faults and the outcome (with the last events on failure). */
export function runScenarioReport(scenario: Scenario, o: RunOneOptions): boolean {
  o.print(describeScenario(scenario));
  for (const line of describeFaults(scenario)) o.print(line);
  const result = new Simulation(scenario, {
    ...(o.trace ? { trace: o.print } : {}), ...(o.historySize ? { historySize: o.historySize } : {}), quiet: o.quiet ?? false,
  }).run();
  if (result.ok) {
    o.print(`ok: ${result.delivered} values delivered (${result.submitted} submitted), ${result.epochs} membership changes, ${result.events} events, ${result.virtualMs} virtual ms`);
    return true;
  }
  o.print(`VIOLATION ${result.violation!.message}`);
  o.print('last events:');
  for (const line of result.history) o.print(`  ${line}`);
  return false;
}

/**
 * Shrink a failing scenario and print the reduced one (as replayable JSON) and its history.
 * Returns the reduced scenario, or undefined if the scenario passes.
 */
export function shrinkAndReport(scenario: Scenario, o: RunOneOptions & { maxRuns?: number }): Scenario | undefined {
  const started = Date.now();
  const result = shrink(scenario, { maxRuns: o.maxRuns ?? 250, log: o.print });
  if (!result) {
    o.print(`seed ${scenario.seed} passes: nothing to shrink`);
    return undefined;
  }
  o.print(`shrunk in ${result.runs} runs, ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
    `${scenario.faults.length} -> ${result.scenario.faults.length} faults, ${scenario.valuesPerClient} -> ` +
    `${result.scenario.valuesPerClient} values per client; still ${result.violation.invariant}`);
  o.print('--- reduced scenario (replay with --scenario FILE) ---');
  o.print(JSON.stringify(result.scenario));
  o.print('--- its run ---');
  runScenarioReport(result.scenario, { ...o, historySize: o.historySize ?? 200, quiet: o.quiet ?? true });
  return result.scenario;
}
