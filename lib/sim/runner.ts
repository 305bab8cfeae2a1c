/** Running seeds and reporting them; shared by the CLI and the test suite. */
import { Simulation } from './simulation.js';
import { type FaultMix, describeScenario, scenarioFromSeed } from './scenario.js';

export interface SeedsSummary {
  seeds: number;
  delivered: number;
  events: number;
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
  const summary: SeedsSummary = { seeds: 0, delivered: 0, events: 0, failures: [], elapsedMs: 0 };
  for (let seed = o.from; seed < o.from + o.count; seed++) {
    const result = new Simulation(scenarioFromSeed(seed, o.mix)).run();
    summary.seeds++;
    summary.delivered += result.delivered;
    summary.events += result.events;
    if (!result.ok) {
      summary.failures.push({ seed, violation: result.violation!.message });
      o.print?.(`seed ${seed} FAILED ${result.violation!.message}  (replay: npm run sim -- --seed ${seed}${o.mix ? ` --mix ${o.mix}` : ''})`);
      if (o.stopOnFailure) break;
    }
  }
  summary.elapsedMs = Date.now() - started;
  o.print?.(`sim: ${summary.seeds} seeds, ${summary.delivered} values delivered, ${summary.events} events, ` +
    `${summary.failures.length} violations, ${(summary.elapsedMs / 1000).toFixed(1)} s`);
  return summary;
}

export function runOne(seed: number, o: { mix?: FaultMix | undefined; trace?: boolean; print: (line: string) => void }): boolean {
  const scenario = scenarioFromSeed(seed, o.mix);
  o.print(describeScenario(scenario));
  const result = new Simulation(scenario, o.trace ? { trace: o.print } : {}).run();
  if (result.ok) {
    o.print(`ok: ${result.delivered} values delivered (${result.submitted} submitted), ${result.events} events, ${result.virtualMs} virtual ms`);
    return true;
  }
  o.print(`VIOLATION ${result.violation!.message}`);
  o.print('last events:');
  for (const line of result.history) o.print(`  ${line}`);
  return false;
}
