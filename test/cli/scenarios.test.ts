/**
 * End-to-end: real `paxos` processes over UDP, multicast and unicast, inside private network
 * namespaces the tests create and delete (see ../kit/netns.ts for the safety rules). Each
 * scenario is checked like the classic harness: learners agree line for line, every learned value
 * was proposed, and every proposed value was learned (once per submission), except where no
 * quorum exists.
 *
 * Default: PAXOS_NET_N values per client (2,000); every scenario over multicast, and over unicast
 * the representative subset `UNICAST_DEFAULT`. `npm run test:net:full` (PAXOS_NET_FULL=1) runs
 * the first four (normal run, late learner, packet loss, leader crash) at 100,000 values per
 * client with 5 s between the clients' start and the kill, over both transports, and every other
 * scenario over unicast at the default N.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countLines, iptablesAvailable, labPerTest } from '../kit/netns.js';
import { seededRandom } from '../kit/random.js';
import { tempDir } from '../kit/temp-dir.js';
import { poll, sleep } from '../kit/wait.js';
import {
  BASE_VALUES_PER_CLIENT, FULL, type NetTransport, RUN_MS, SERVER_LEAD_MS, VALUES_PER_CLIENT, type ClassicResult, type ClassicSpec,
  type RunContext, args, checkLines, configText, crash, describeResult, exitProblems, randomValues, runClassic,
} from './classic.js';

/**
 * At the small default N clients would finish before a fault could hit them mid-stream: fewer
 * values in flight stretch the run so that the crash lands while clients are still sending.
 */
const midStream = (n: number): string[] => (n <= 10_000 ? ['--max-outstanding', '64'] : []);
const MID_STREAM = midStream(VALUES_PER_CLIENT);

/** The scenarios that run over unicast by default (PAXOS_NET_FULL=1: all of them). */
const UNICAST_DEFAULT = new Set(['normal', 'leader-crash', 'durable-restart', 'multi-host']);
/** The scenarios that run at the full load under PAXOS_NET_FULL=1 (the only ones over multicast then). */
const BIG = new Set(['normal', 'catchup', 'loss', 'leader-crash']);

function selected(transport: NetTransport, label: string): boolean {
  if (transport === 'multicast') return !FULL || BIG.has(label);
  return FULL || UNICAST_DEFAULT.has(label);
}

/** Poll until learner 1 has printed `fraction` of all values (bounded), to inject a fault mid-stream. */
async function untilLearned(ctx: RunContext, fraction: number, maxMs = 10_000): Promise<void> {
  const want = Math.max(1, Math.floor(ctx.totalValues * fraction));
  await poll(() => countLines(ctx.learners[0]!.stdoutPath) >= want, maxMs, 5);
}

for (const transport of ['multicast', 'unicast'] as const) describe(`paxos processes over UDP ${transport} in private network namespaces`, function () {
  this.timeout(180_000);
  const openLab = labPerTest();
  /** `it` for the scenario `label` when it runs over this transport (see `selected`). */
  const scenarioIt = (label: string, title: string, body: (this: Mocha.Context) => Promise<void>): void => {
    if (selected(transport, label)) it(title, body);
  };
  /** Values per client of a scenario that is not one of the big four. */
  const smallN = FULL ? BASE_VALUES_PER_CLIENT : VALUES_PER_CLIENT;

  async function scenario(spec: ClassicSpec): Promise<ClassicResult> {
    const result = await runClassic(openLab(`${spec.label}-${transport}`), { transport, ...spec });
    console.log(`      ${spec.label}: ${describeResult(result)}`);
    if (result.problems.length) console.log(`      files kept in ${result.dir}`);
    return result;
  }

  const full = FULL ? ' (full)' : '';

  scenarioIt('normal', `no faults, 3 acceptors, 2 proposers, 2 learners, 2 clients x ${VALUES_PER_CLIENT}: every value is learned, in one order${full}`, async () => {
    const r = await scenario({ label: 'normal', expectAll: true });
    expect(r.problems).to.deep.equal([]);
  });

  scenarioIt('catchup', `a learner that starts after a client finished catches up on everything, the earlier values first${full}`, async () => {
    const l = openLab(`catchup-${transport}`);
    const ns = l.addNamespace('a');
    const config = l.file('paxos.conf', configText(transport, { acceptors: 3, proposers: 1, learners: 2, clients: 2 }));
    const shape = { clusterAcceptors: 3, clusterProposers: 1 };
    const a = (role: string, id: number): string[] => args(role, id, config, shape);
    for (let id = 1; id <= 3; id++) l.spawnPaxos(ns, `acceptor${id}`, a('acceptor', id));
    const learner1 = l.spawnPaxos(ns, 'learner1', a('learner', 1));
    l.spawnPaxos(ns, 'proposer1', a('proposer', 1));
    await sleep(SERVER_LEAD_MS);
    const random = seededRandom(7);
    const values1 = randomValues(VALUES_PER_CLIENT, random);
    const values2 = randomValues(VALUES_PER_CLIENT, random);
    const client1 = l.spawnPaxos(ns, 'client1', a('client', 1), l.file('prop1', values1.join('\n') + '\n'));
    const started1 = Date.now();
    const finished = await poll(() => !l.isRunning(client1), 60_000, 50);
    expect(finished, 'client 1 did not finish within 60 s').to.equal(true);
    const client1Ms = Date.now() - started1;
    const learner2 = l.spawnPaxos(ns, 'learner2', a('learner', 2));
    const client2 = l.spawnPaxos(ns, 'client2', a('client', 2), l.file('prop2', values2.join('\n') + '\n'));
    const t0 = Date.now();
    let allAt: number | undefined;
    const total = values1.length + values2.length;
    while (Date.now() - t0 < RUN_MS) {
      if (allAt === undefined && countLines(learner1.stdoutPath) >= total && countLines(learner2.stdoutPath) >= total) allAt = Date.now() - t0;
      await sleep(50);
    }
    await l.stopAll();
    const out1 = l.readLines(learner1.stdoutPath);
    const out2 = l.readLines(learner2.stdoutPath);
    const problems = checkLines([values1, values2], [out1.lines, out2.lines], true);
    if (out1.partial || out2.partial) problems.push('a learner output ends with a partial line');
    problems.push(...exitProblems(l.processes));
    // The late learner's first lines are exactly client 1's values, in learner 1's order.
    const firstPart = out2.lines.slice(0, values1.length);
    const sorted = (xs: string[]): string => [...xs].sort().join(',');
    if (sorted(firstPart) !== sorted(values1)) problems.push('learner 2 did not deliver client 1 values before the new ones');
    console.log(`      catch-up: client 1 finished ${client1Ms} ms after start; learned ${out1.lines.length}/${out2.lines.length} of ${total}; ` +
      `${allAt !== undefined ? `all learned ${allAt} ms after learner 2 and client 2 started` : 'not all learned'}; ` +
      `learner 2 ${client2.exitStatus ? '' : 'and client 2 '}stopped by SIGTERM`);
    if (problems.length) console.log(`      files kept in ${l.dir}`);
    expect(problems).to.deep.equal([]);
  });

  scenarioIt('loss', `10% of incoming datagrams dropped (iptables statistic): everything is still learned${full}`, async function () {
    if (!iptablesAvailable()) {
      console.log('      skipping: iptables is not installed (.ci/run installs it with apt-get)');
      this.skip();
    }
    const r = await scenario({ label: 'loss', loss: 0.1, expectAll: true });
    expect(r.problems).to.deep.equal([]);
    expect(r.iptablesDropped, 'iptables dropped nothing').to.be.greaterThan(0);
  });

  scenarioIt('leader-crash', `the leader SIGKILLed while clients send: the other proposer takes over, everything is learned${full}`, async () => {
    const r = await scenario({
      label: 'leader-crash', expectAll: true,
      flags: MID_STREAM,
      during: async (ctx) => {
        await untilLearned(ctx, 0.25);
        crash(ctx, ctx.proposers.get(2)!);
      },
    });
    expect(r.problems).to.deep.equal([]);
  });

  // Under PAXOS_NET_FULL=1 the scenarios below run over unicast only, at the default N (see `selected`).

  scenarioIt('two-acceptors', 'two acceptors of three running: a majority is enough to learn everything', async () => {
    const r = await scenario({ label: 'two-acceptors', acceptorIds: [1, 2], expectAll: true, valuesPerClient: smallN });
    expect(r.problems).to.deep.equal([]);
  });

  scenarioIt('one-acceptor', 'one acceptor of three running: no quorum, learners print nothing', async () => {
    const r = await scenario({ label: 'one-acceptor', acceptorIds: [1], expectAll: false, valuesPerClient: smallN, runMs: Math.min(RUN_MS, 3000) });
    expect(r.problems).to.deep.equal([]);
    expect(r.learnedLines).to.deep.equal([0, 0]);
  });

  scenarioIt('acceptor-crash', 'one acceptor SIGKILLed while clients send: everything is still learned', async () => {
    const r = await scenario({
      label: 'acceptor-crash', expectAll: true, flags: midStream(smallN), valuesPerClient: smallN,
      during: async (ctx) => {
        await untilLearned(ctx, 0.25);
        crash(ctx, ctx.acceptors.get(3)!);
      },
    });
    expect(r.problems).to.deep.equal([]);
  });

  scenarioIt('two-acceptors-crash', 'two acceptors SIGKILLed while clients send: progress stops, nothing wrong is printed', async () => {
    let atKill = 0;
    const r = await scenario({
      label: 'two-acceptors-crash', expectAll: false, flags: midStream(smallN), valuesPerClient: smallN, runMs: Math.min(RUN_MS, 4000),
      during: async (ctx) => {
        await untilLearned(ctx, 0.25);
        crash(ctx, ctx.acceptors.get(2)!);
        crash(ctx, ctx.acceptors.get(3)!);
        await sleep(1000); // values a quorum accepted before the crash may still be learned
        atKill = countLines(ctx.learners[0]!.stdoutPath);
      },
    });
    expect(r.problems).to.deep.equal([]);
    expect(r.learnedLines[0], 'learners kept learning without a quorum').to.equal(atKill);
    expect(r.learnedLines[0]).to.be.lessThan(r.proposedTotal);
  });

  scenarioIt('durable-restart', 'a durable acceptor SIGKILLed mid-run restarts from its data directory and, once another dies, completes the quorum: everything is learned', async () => {
    const { path: dataRoot, remove } = tempDir('paxos-acceptor-data-');
    let recoveredLine: string | undefined;
    let pendingAtSecondCrash = 0;
    try {
      const r = await scenario({
        // Slow clients, so that values are still being ordered after the second crash.
        label: 'durable-restart', expectAll: true, flags: ['--max-outstanding', '16'], valuesPerClient: Math.max(smallN, 10_000),
        flagsFor: (name) => (name.startsWith('acceptor') ? ['--data-dir', join(dataRoot, name.replace(/-restarted$/, '')), '--sync', 'batch'] : []),
        during: async (ctx) => {
          await untilLearned(ctx, 0.2);
          crash(ctx, ctx.acceptors.get(3)!);
          await sleep(300);
          const restarted = ctx.start('acceptor', 3, 'acceptor3-restarted');
          ctx.acceptors.set(3, restarted);
          ctx.notes.push(`acceptor3 restarted from its data directory ${Date.now() - ctx.t0} ms after clients started`);
          await poll(() => /recovered \d+ accepted instances/.test(readFileSync(restarted.stderrPath, 'utf8')), 5000, 50);
          recoveredLine = /recovered (\d+) accepted instances/.exec(readFileSync(restarted.stderrPath, 'utf8'))?.[1];
          await untilLearned(ctx, 0.5);
          // From here on no quorum exists without the restarted acceptor's recovered promises and votes.
          crash(ctx, ctx.acceptors.get(2)!);
          pendingAtSecondCrash = ctx.totalValues - countLines(ctx.learners[0]!.stdoutPath);
        },
      });
      expect(r.problems).to.deep.equal([]);
      expect(Number(recoveredLine), 'accepted instances the restarted acceptor recovered from disk').to.be.above(0);
      expect(pendingAtSecondCrash, 'values still to order when the second acceptor died').to.be.above(0);
    } finally {
      remove();
    }
  });

  scenarioIt('multi-host', 'each acceptor on a host of its own (namespaces joined by a bridge), HMAC on: everything is learned', async () => {
    const r = await scenario({
      label: 'multi-host', topology: 'bridged', expectAll: true, valuesPerClient: smallN, flags: ['--secret', 'multi-host-test-secret'],
    });
    expect(r.problems).to.deep.equal([]);
  });

  scenarioIt('intruder', 'a client with the wrong shared secret gets nothing ordered, the other clients everything', async () => {
    const r = await scenario({
      label: 'intruder', expectAll: true, clients: 3, valuesPerClient: smallN, ignoredClients: [3], runMs: Math.min(RUN_MS, 3000),
      flags: ['--secret', 'right'],
      flagsFor: (name) => (name === 'client3' ? ['--secret', 'wrong'] : []),
    });
    // Client 3 never finishes (it is SIGTERMed) and none of its submissions are learned: the
    // learners print exactly clients 1 and 2's values.
    expect(r.problems).to.deep.equal([]);
    expect(r.learnedLines).to.deep.equal([2 * smallN, 2 * smallN]);
  });
});
