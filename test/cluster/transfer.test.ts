/** `cluster.transferLeadership(to)`, and the hand-over a per-host `stop()` makes before it goes. */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { type Cluster, TransferFailedError, UnknownMemberError } from '../../lib/index.js';
import { checkBroadcast } from '../kit/total-order.js';
import { waitFor } from '../kit/wait.js';
import { collect, errors, startCluster, stopAll, values } from './helpers.js';

describe('Cluster leadership transfer', function () {
  this.timeout(60_000);
  afterEach(stopAll);

  it('hands over while values keep coming: resolves once the target leads, and the order has every value once', async () => {
    const cluster = await startCluster<string>({ proposers: 3, acceptors: 3, learners: 2, clients: 1 });
    const leader = await cluster.ready({ timeoutMs: 20_000 });
    const to = leader === 0 ? 1 : 0;
    const all = values('v', 3000);
    const writing = cluster.submitMany(all);
    await new Promise((r) => setTimeout(r, 20));
    await cluster.transferLeadership(to);
    expect(cluster.leader).to.equal(to);
    const positions = await writing;
    const byValue = new Map(all.map((v, i) => [v, positions[i]!]));
    checkBroadcast(await Promise.all([collect(cluster, 0, all.length), collect(cluster, 1, all.length)]), all, byValue);
    const status = await cluster.status();
    expect(status.filter((s) => s.group === 'proposers' && s.leading).map((s) => s.id)).to.deep.equal([to]);
    expect(errors).to.deep.equal([]);
  });

  it('rejects a target that is not a proposer, and fails (leading on) when the target is down', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 1, clients: 1, leaderTimeoutMs: 100, heartbeatIntervalMs: 10 });
    const leader = await cluster.ready({ timeoutMs: 20_000 });
    await cluster.transferLeadership(5).then(() => expect.fail('transferred'), (e: Error) => expect(e).to.be.instanceOf(UnknownMemberError));
    await cluster.transferLeadership(leader); // already there
    const other = 1 - leader;
    await cluster.kill('proposers', other);
    const failed = await cluster.transferLeadership(other, { timeoutMs: 1000 }).then(() => undefined, (e: unknown) => e);
    expect(failed).to.be.instanceOf(TransferFailedError).with.property('code', 'ERR_PAXOS_TRANSFER_FAILED');
    await new Promise((r) => setTimeout(r, 300)); // past the proposer's own deadline (2 leader timeouts)
    expect(cluster.leader).to.equal(leader);
    expect(await cluster.submit('after a failed transfer')).to.be.a('number');
  });

  it('a host that does not run the leader hands leadership over through its own proposer', async () => {
    const id = randomUUID();
    const shape = { proposers: 3, acceptors: 3, learners: 3, clients: 4, id, leaderTimeoutMs: 1000, heartbeatIntervalMs: 20 } as const;
    const hosts: Cluster<string>[] = await Promise.all([0, 1, 2].map((i) =>
      startCluster<string>({ ...shape, host: { proposers: [i], acceptors: [i], learners: [i], clients: [i] } })));
    const leader = await hosts[0]!.ready({ timeoutMs: 20_000 });
    const [asker, target] = [0, 1, 2].filter((i) => i !== leader);
    await hosts[asker!]!.transferLeadership(target!);
    // (Each host follows the leader from heartbeats: the old leader's host sees the change a little later.)
    await waitFor(() => hosts[leader]!.leader === target, 10_000, `host ${leader} to see proposers/${target} lead`);
    await hosts[asker!]!.transferLeadership(asker!); // for its own proposer
    expect(hosts[asker!]!.leader).to.equal(asker);
    expect(await hosts[target!]!.submit('after two requested transfers')).to.be.a('number');
    // A process with no proposer (and so no view of the leader) has nobody to ask through.
    const clientOnly = await startCluster<string>({ ...shape, host: { proposers: [], acceptors: [], learners: [], clients: [3] } });
    const failed = await clientOnly.transferLeadership(target!).then(() => undefined, (e: unknown) => e);
    expect(failed).to.be.instanceOf(TransferFailedError);
  });

  it('a per-host stop() of the leader\'s host hands over first: the others never go without a leader for a leader timeout', async () => {
    const id = randomUUID();
    const shape = { proposers: 3, acceptors: 3, learners: 3, clients: 3, id, leaderTimeoutMs: 3000, heartbeatIntervalMs: 50 } as const;
    const hosts: Cluster<string>[] = await Promise.all([0, 1, 2].map((i) =>
      startCluster<string>({ ...shape, host: { proposers: [i], acceptors: [i], learners: [i], clients: [i] } })));
    const leader = await hosts[0]!.ready({ timeoutMs: 20_000 });
    // The hand-over goes to the highest proposer elsewhere (the one the others defer to).
    const target = [0, 1, 2].filter((i) => i !== leader).at(-1)!;
    await hosts[leader]!.stop();
    expect(await hosts[target]!.ready({ timeoutMs: 20_000 })).to.equal(target);
    await hosts[target]!.submit('after the planned stop');
    const metrics = (await hosts[target]!.metrics()).workers.find((w) => w.group === 'proposers')!.metrics!;
    expect(metrics.takeovers, 'it took over when told to, not after a leader timeout').to.equal(1);
  });
});
