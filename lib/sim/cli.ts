#!/usr/bin/env node
/**
 * `npm run sim -- --seed 1234`             replay one seed, printing its scenario and any violation
 * `npm run sim -- --seeds 2000`            run seeds 1..2000 of varied fault mixes, one summary line
 * `npm run sim -- --seed 1234 --shrink`    reduce a failing seed to a short fault schedule, print it
 *                                          as JSON (replayable) and its history
 * `npm run sim -- --scenario FILE`         replay a scenario saved as JSON (e.g. a shrunk one)
 * Options: --from N (first seed), --mix calm|lossy|crashes|partitions|chaos, --trace, --stop-on-failure,
 *          --history N (events printed for a failure), --save FILE (write the scenario, shrunk if
 *          --shrink, as JSON), --max-runs N (shrink budget), --quiet (no heartbeats/progress in the
 *          history; the default for a shrunk run)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSeeds, runScenarioReport, shrinkAndReport } from './runner.js';
import { FAULT_MIXES, type FaultMix, type Scenario, scenarioFromSeed } from './scenario.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    scenario: { type: 'string' },
    from: { type: 'string', default: '1' },
    mix: { type: 'string' },
    trace: { type: 'boolean', default: false },
    shrink: { type: 'boolean', default: false },
    quiet: { type: 'boolean' },
    save: { type: 'string' },
    history: { type: 'string' },
    'max-runs': { type: 'string' },
    'stop-on-failure': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || (!values.seed && !values.seeds && !values.scenario)) {
  console.log('usage: npm run sim -- --seed N [--trace] [--shrink] [--save FILE] | --scenario FILE [--shrink] |');
  console.log('                      --seeds COUNT [--from N] [--mix MIX] [--stop-on-failure]');
  console.log(`mixes: ${FAULT_MIXES.join(', ')} (default: varied by seed)`);
  process.exit(values.help ? 0 : 2);
}
const mix = values.mix as FaultMix | undefined;
if (mix && !FAULT_MIXES.includes(mix)) {
  console.error(`sim: unknown mix ${mix}`);
  process.exit(2);
}

if (values.seed || values.scenario) {
  const scenario: Scenario = values.scenario
    ? JSON.parse(readFileSync(values.scenario, 'utf8')) as Scenario
    : scenarioFromSeed(Number(values.seed), mix);
  const o = {
    trace: values.trace, print: console.log, ...(values.quiet !== undefined ? { quiet: values.quiet } : {}),
    ...(values.history ? { historySize: Number(values.history) } : {}),
    ...(values['max-runs'] ? { maxRuns: Number(values['max-runs']) } : {}),
  };
  if (values.shrink) {
    const reduced = shrinkAndReport(scenario, o);
    if (values.save && reduced) writeFileSync(values.save, JSON.stringify(reduced, null, 1) + '\n');
    process.exit(reduced ? 1 : 0);
  }
  if (values.save) writeFileSync(values.save, JSON.stringify(scenario, null, 1) + '\n');
  const ok = runScenarioReport(scenario, o);
  process.exit(ok ? 0 : 1);
} else {
  const summary = runSeeds({
    from: Number(values.from), count: Number(values.seeds), mix, stopOnFailure: values['stop-on-failure'], print: console.log,
  });
  process.exit(summary.failures.length ? 1 : 0);
}
