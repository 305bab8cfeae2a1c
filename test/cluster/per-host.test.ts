/**
 * `Cluster.start({ host })`: each `Cluster` runs some members of one deployment, as one process per
 * host would. Here the "hosts" are three `Cluster` objects in this process on the bus (shared `id`);
 * test/examples/kv-replica.test.ts runs the same over UDP between network namespaces.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Cluster, type ClusterOptions, ConfigurationError, NotHostedError, UnknownMemberError } from '../../lib/index.js';
import { checkBroadcast } from '../kit/total-order.js';
import { collect, errors, startCluster, stopAll, submitAll, values } from './helpers.js';

const SHAPE = { proposers: 3, acceptors: 3, learners: 3, clients: 3 } as const;

/** Replica i of a three-host deployment: proposer, acceptor, learner and client i. */
function replica(i: number, id: string, extra: ClusterOptions<string> = {}): Promise<Cluster<string>> {
  return startCluster<string>({ ...SHAPE, id, host: { proposers: [i], acceptors: [i], learners: [i], clients: [i] }, ...extra });
}

describe('Cluster hosting part of a deployment (host)', function () {
  this.timeout(90_000);
  afterEach(stopAll);

  for (const workers of ['replica', 'role'] as const) {
    it(`three hosts (workers: '${workers}') order every host's values identically; each sees only its members`, async () => {
      const id = randomUUID();
      const hosts = await Promise.all([0, 1, 2].map((i) => replica(i, id, { workers })));
      // Every host hears the same leader, also the two that do not run it.
      const leaders = await Promise.all(hosts.map((h) => h.ready({ timeoutMs: 20_000 })));
      expect(new Set(leaders).size).to.equal(1);
      const status = await hosts[1]!.status();
      expect(status.map((s) => `${s.group}/${s.id}`).sort()).to.deep.equal(['acceptors/1', 'clients/1', 'learners/1', 'proposers/1']);
      expect(hosts[1]!.hosted).to.deep.equal({ proposers: [1], acceptors: [1], learners: [1], clients: [1] });

      const all = hosts.map((_, i) => values(`h${i}`, 150));
      const positions = new Map<string, number>();
      // submit() and learned() default to the hosted client and learner.
      await Promise.all(hosts.map((h, i) => Promise.all(all[i]!.map(async (v) => { positions.set(v, await h.submit(v)); }))));
      const total = all.flat().length;
      const sequences = await Promise.all(hosts.map((h, i) => collect(h, i, total)));
      checkBroadcast(sequences, all.flat(), positions);
      expect(errors).to.deep.equal([]);
    });
  }

  it('kill and restart a hosted member; members of other hosts are refused with NotHostedError', async () => {
    const id = randomUUID();
    const hosts = await Promise.all([0, 1, 2].map((i) => replica(i, id, { workers: 'replica' })));
    await hosts[0]!.ready({ timeoutMs: 20_000 });
    expect(() => hosts[0]!.client(1)).to.throw(NotHostedError).with.property('code', 'ERR_PAXOS_NOT_HOSTED');
    expect(() => hosts[0]!.learned({ learner: 2 })).to.throw(NotHostedError);
    expect(() => hosts[0]!.client(3)).to.throw(UnknownMemberError);
    await hosts[0]!.kill('acceptor', 1).then(() => expect.fail('killed another host\'s member'), (e: Error) => expect(e).to.be.instanceOf(NotHostedError));

    const all = values('k', 300);
    const positions = new Map<string, number>();
    await submitAll(hosts[0]!, 0, all.slice(0, 100), positions);
    // The host running the leader goes down; the others elect a new one and go on.
    const leader = hosts[0]!.leader!;
    await hosts[leader]!.kill('proposer', leader);
    const survivor = hosts[(leader + 1) % 3]!;
    await submitAll(survivor, (leader + 1) % 3, all.slice(100, 200), positions);
    await hosts[leader]!.restart('proposer', leader);
    await submitAll(hosts[leader]!, leader, all.slice(200), positions);
    const sequences = await Promise.all(hosts.map((h, i) => collect(h, i, all.length)));
    checkBroadcast(sequences, all, positions);
  });

  it('rejects a host set that does not fit the deployment', async () => {
    const bad: [ClusterOptions, RegExp][] = [
      [{ ...SHAPE, id: 'x', host: { acceptors: [3] } }, /host\.acceptors: 3 is not a member; ids run from 0 to 2/],
      [{ ...SHAPE, id: 'x', host: { acceptor: [0] } as never }, /unknown group in host "acceptor"; did you mean acceptors\?/],
      [{ ...SHAPE, id: 'x', host: { learners: [0, 0] } }, /names a member twice/],
      [{ ...SHAPE, id: 'x', host: {} }, /names no member/],
      [{ ...SHAPE, host: { clients: [0] } }, /needs id/],
    ];
    for (const [options, message] of bad) {
      await Cluster.start(options).then(() => expect.fail('started'), (e: Error) => {
        expect(e).to.be.instanceOf(ConfigurationError);
        expect(e.message).to.match(message);
      });
    }
  });

  it('a host with only a client submits, but cannot see the leader for ready()', async () => {
    const id = randomUUID();
    const rest = await startCluster<string>({ ...SHAPE, clients: 2, id, host: { proposers: [0, 1, 2], acceptors: [0, 1, 2], learners: [0, 1, 2], clients: [0] } });
    const clientOnly = await startCluster<string>({ ...SHAPE, clients: 2, id, host: { clients: [1] } });
    await clientOnly.ready().then(() => expect.fail('resolved'), (e: { code?: string }) => expect(e.code).to.equal('ERR_PAXOS_LEADER_UNSEEN'));
    const position = await clientOnly.submit('from the client host');
    const seen = await collect(rest, 2, position + 1);
    expect(seen[position]!.value).to.equal('from the client host');
  });
});
