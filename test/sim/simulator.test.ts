import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { runSeeds } from '../../lib/sim/runner.js';
import { Simulation } from '../../lib/sim/simulation.js';
import { FAULT_MIXES, scenarioFromSeed } from '../../lib/sim/scenario.js';

/** CI's seed count; `SIM_SEEDS=20000 npm test` digs deeper. */
const SEEDS = Number(process.env.SIM_SEEDS ?? 2500);

describe('Deterministic simulator', function () {
  this.timeout(600_000);

  it(`${SEEDS} seeds of varied fault mixes keep agreement, validity, integrity and liveness`, () => {
    const summary = runSeeds({ from: 1, count: SEEDS, print: (line) => { if (/FAILED/.test(line)) console.log(line); } });
    expect(summary.seeds).to.equal(SEEDS);
    expect(summary.failures, JSON.stringify(summary.failures.slice(0, 5))).to.deep.equal([]);
    expect(summary.delivered).to.be.greaterThan(SEEDS * 20);
  });

  it('covers every fault mix', () => {
    const mixes = new Set(Array.from({ length: 10 }, (_, i) => scenarioFromSeed(i + 1).mix));
    expect([...mixes].sort()).to.deep.equal([...FAULT_MIXES].sort());
  });

  it('replays a seed exactly', () => {
    const a = new Simulation(scenarioFromSeed(4242)).run();
    const b = new Simulation(scenarioFromSeed(4242)).run();
    expect(a.ok).to.equal(true);
    expect({ ...b, history: b.history.join('\n') }).to.deep.equal({ ...a, history: a.history.join('\n') });
  });

  it('`npm run sim -- --seed N` prints the scenario and the outcome', () => {
    const out = execFileSync(process.execPath, ['dist/lib/sim/cli.js', '--seed', '7'], { encoding: 'utf8' });
    expect(out).to.match(/^seed 7 \(/);
    expect(out).to.match(/ok: \d+ values delivered/);
  });

  it('has teeth: every planted protocol bug is caught within 2,000 seeds', () => {
    const out = execFileSync(process.execPath, ['scripts/planted-bugs.mjs', '--seeds', '2000'], { encoding: 'utf8' });
    const caught = out.split('\n').filter((l) => l.startsWith('caught'));
    expect(out, out).to.match(/planted bugs: \d+ caught, 0 survived/);
    expect(caught.length).to.be.at.least(6);
  });
});
