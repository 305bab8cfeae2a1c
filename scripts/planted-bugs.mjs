#!/usr/bin/env node
// Proves the simulator has teeth: plants known protocol bugs, one at a time, into a copy of the
// compiled core, and counts how many seeds the simulator needs to catch each. Exits non-zero if
// a planted bug survives `--seeds` seeds or a mutation no longer matches the source.
// Usage: node scripts/planted-bugs.mjs [--seeds 2000]
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PLANTED_BUGS = [
  {
    name: 'acceptor skips the ballot check on 2a',
    file: 'lib/protocol/acceptor.js',
    from: 'if (compareBallots(m.ballot, this.promised) < 0) {\n            this.nack(m.ballot, proposerOf(m.ballot));',
    to: 'if (false) {\n            this.nack(m.ballot, proposerOf(m.ballot));',
  },
  {
    name: 'acceptor promises without remembering the promise',
    file: 'lib/protocol/acceptor.js',
    from: 'this.promise(m.ballot);\n        this.metrics.promises++;',
    to: 'this.metrics.promises++;',
  },
  {
    name: "acceptor answers before its writes are durable (sync 'none') and crashes",
    file: 'lib/sim/scenario.js',
    from: "acceptorStorage: { sync: 'synced', fsyncMs: ",
    // the OS writes dirty pages back seconds later; a crash in between loses promises already sent
    to: "acceptorStorage: { sync: 'none', fsyncMs: 2000 + ",
  },
  {
    name: 'leader ignores values reported in 1b (fills with no-ops)',
    file: 'lib/protocol/proposer.js',
    from: 'const batch = highest.get(instance)?.batch ?? this.learner.decidedBatch(instance) ?? [];',
    to: 'const batch = [];',
  },
  {
    name: 'leader re-proposes the lowest-ballot value from 1b, not the highest',
    file: 'lib/protocol/proposer.js',
    from: 'if (!known || compareBallots(e.ballot, known.ballot) > 0)',
    to: 'if (!known || compareBallots(e.ballot, known.ballot) < 0)',
  },
  {
    name: 'learner decides on a minority of votes',
    file: 'lib/protocol/learner.js',
    from: 'if (vote.count < this.options.phase2Quorum)',
    to: 'if (vote.count < 1)',
  },
  {
    name: 'learner skips the exactly-once filter',
    file: 'lib/protocol/learner.js',
    from: 'if (!this.filter.admit(s.client, s.seq)) {',
    to: 'if (false) {',
  },
  {
    name: 'leader trims without waiting for the slowest learner',
    file: 'lib/protocol/proposer.js',
    from: 'for (const p of this.learnerProgress)\n            below = Math.min(below, p);',
    to: '',
  },
  {
    name: 'leader stops retransmitting unanswered 2a',
    file: 'lib/protocol/proposer.js',
    from: 'f.sentAt = now;\n            this.metrics.retransmissions++;\n            this.broadcastAccept(instance, f.batch, now);',
    to: 'f.sentAt = now;',
  },
];

function parseSeeds() {
  const at = process.argv.indexOf('--seeds');
  return at >= 0 ? Number(process.argv[at + 1]) : 2000;
}

async function main() {
  const maxSeeds = parseSeeds();
  let survived = 0;
  // Seeds that fail without any planted bug (known protocol bugs) prove nothing about a mutant.
  const baseline = await import(pathToFileURL(join(process.cwd(), 'dist/lib/sim/simulation.js')).href);
  const baseScenario = await import(pathToFileURL(join(process.cwd(), 'dist/lib/sim/scenario.js')).href);
  const failsUnmutated = new Map();
  const failsAnyway = (seed) => {
    if (!failsUnmutated.has(seed)) failsUnmutated.set(seed, !new baseline.Simulation(baseScenario.scenarioFromSeed(seed)).run().ok);
    return failsUnmutated.get(seed);
  };
  for (const bug of PLANTED_BUGS) {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-mutant-'));
    try {
      cpSync('dist/lib', join(dir, 'lib'), { recursive: true });
      const path = join(dir, bug.file);
      const source = readFileSync(path, 'utf8');
      if (!source.includes(bug.from)) throw new Error(`mutation "${bug.name}" no longer matches ${bug.file}`);
      writeFileSync(path, source.replace(bug.from, bug.to));
      const { Simulation } = await import(pathToFileURL(join(dir, 'lib/sim/simulation.js')).href);
      const { scenarioFromSeed } = await import(pathToFileURL(join(dir, 'lib/sim/scenario.js')).href);
      let caughtAt;
      let violation;
      for (let seed = 1; seed <= maxSeeds && caughtAt === undefined; seed++) {
        let result;
        try {
          result = new Simulation(scenarioFromSeed(seed)).run();
        } catch (err) {
          result = { ok: false, violation: { message: `crash: ${err.message}` } };
        }
        if (!result.ok && !failsAnyway(seed)) {
          caughtAt = seed;
          violation = result.violation.message;
        }
      }
      if (caughtAt === undefined) survived++;
      console.log(caughtAt === undefined
        ? `SURVIVED ${bug.name}: no violation in ${maxSeeds} seeds`
        : `caught   ${bug.name}: seed ${caughtAt} (${caughtAt} seeds) -> ${violation.slice(0, 110)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`planted bugs: ${PLANTED_BUGS.length - survived} caught, ${survived} survived`);
  process.exitCode = survived ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
