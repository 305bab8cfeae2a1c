/**
 * A replica per host, over the CLI: three processes each host an acceptor, a proposer and a
 * learner (`paxos acceptor,proposer,learner <i>`, one transport endpoint each), each in its own
 * network namespace joined by a bridge, plus a client process. The replicas print the same
 * values in the same order, every value once; over multicast (`--interface`) and over unicast
 * (every member listed at its host's address, sockets bound to 0.0.0.0 with `--bind`).
 */
import { expect } from 'chai';
import { countLines, labPerTest } from '../kit/netns.js';
import { seededRandom } from '../kit/random.js';
import { totalOrderProblems } from '../kit/total-order.js';
import { poll, sleep } from '../kit/wait.js';
import { SERVER_LEAD_MS, configText, exitProblems, randomValues } from './classic.js';

const VALUES = 2_000;

for (const transport of ['multicast', 'unicast'] as const) describe(`one process hosting several roles (CLI, UDP ${transport} in namespaces)`, function () {
  this.timeout(60_000);
  const openLab = labPerTest();

  it('three replica processes (acceptor, proposer and learner each) and a client: every replica learns everything, in one order', async () => {
    const lab = openLab(`replicas-${transport}`);
    const hosts = lab.addBridgedHosts(4);
    // Replica i (every role's id i) on host i, the client on host 4.
    const hostOf = (group: string, id: number) => hosts[group === 'clients' ? 3 : id - 1]!;
    const config = lab.file('paxos.conf', configText(transport, { acceptors: 3, proposers: 3, learners: 3, clients: 1 }, (g, id) => hostOf(g, id).address));
    const flags = (group: string, id: number): string[] =>
      ['--acceptors', '3', '--proposers', '3', ...(transport === 'multicast' ? ['--interface', hostOf(group, id).address] : ['--bind', '0.0.0.0'])];
    const replicas = [1, 2, 3].map((i) => lab.spawnPaxos(hostOf('acceptors', i).ns, `replica${i}`,
      ['acceptor,proposer,learner', String(i), config, ...flags('acceptors', i)]));
    await sleep(SERVER_LEAD_MS);
    const values = randomValues(VALUES, seededRandom(7));
    const input = lab.file('values', values.join('\n') + '\n');
    const client = lab.spawnPaxos(hostOf('clients', 1).ns, 'client1', ['client', '1', config, ...flags('clients', 1)], input);
    const learnedAll = await poll(() => replicas.every((r) => countLines(r.stdoutPath) >= VALUES), 20_000, 50);
    await poll(() => !lab.isRunning(client), 5_000, 50);
    await lab.stopAll(3000);
    const learned = replicas.map((r) => lab.readLines(r.stdoutPath).lines);
    expect(learnedAll, `replicas learned ${learned.map((l) => l.length).join(', ')} of ${VALUES}`).to.equal(true);
    expect(totalOrderProblems({ learned, submitted: values, complete: true, firstLearnerId: 1 })).to.deep.equal([]);
    expect(exitProblems(lab.processes)).to.deep.equal([]);
  });
});
