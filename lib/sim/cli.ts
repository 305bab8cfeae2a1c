#!/usr/bin/env node
/**
 * `npm run sim -- --seed 1234`        replay one seed, printing its scenario and any violation
 * `npm run sim -- --seeds 2000`       run seeds 1..2000 of varied fault mixes, one summary line
 * Options: --from N (first seed), --mix calm|lossy|crashes|partitions|chaos, --trace, --stop-on-failure
 */
import { parseArgs } from 'node:util';
import { runSeeds, runOne } from './runner.js';
import { FAULT_MIXES, type FaultMix } from './scenario.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string', default: '1' },
    mix: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'stop-on-failure': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || (!values.seed && !values.seeds)) {
  console.log('usage: npm run sim -- --seed N [--trace] | --seeds COUNT [--from N] [--mix MIX] [--stop-on-failure]');
  console.log(`mixes: ${FAULT_MIXES.join(', ')} (default: varied by seed)`);
  process.exit(values.help ? 0 : 2);
}
const mix = values.mix as FaultMix | undefined;
if (mix && !FAULT_MIXES.includes(mix)) {
  console.error(`sim: unknown mix ${mix}`);
  process.exit(2);
}

if (values.seed) {
  const ok = runOne(Number(values.seed), { mix, trace: values.trace, print: console.log });
  process.exit(ok ? 0 : 1);
} else {
  const summary = runSeeds({
    from: Number(values.from), count: Number(values.seeds), mix, stopOnFailure: values['stop-on-failure'], print: console.log,
  });
  process.exit(summary.failures.length ? 1 : 0);
}
