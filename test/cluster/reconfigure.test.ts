/** `cluster.reconfigure()`: replacing, adding and removing acceptors while values are ordered. */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { type Cluster, ConfigurationError, type Membership, MembershipChangeError } from '../../lib/index.js';
import { checkBroadcast } from '../kit/total-order.js';
import { collect, errors, startCluster, stopAll, values } from './helpers.js';

describe('Cluster membership change', function () {
  this.timeout(120_000);
  afterEach(stopAll);

  it('replaces a killed acceptor by a spare while values keep coming; the spare then counts in every quorum', async () => {
    // Four acceptor slots, three voting: acceptors/3 is a spare.
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 4, initialAcceptors: [0, 1, 2], learners: 2, clients: 1 });
    await cluster.ready({ timeoutMs: 20_000 });
    expect((await cluster.membership())?.acceptors).to.deep.equal([0, 1, 2]);
    const all = values('v', 4000);
    const writing = cluster.submitMany(all);
    await new Promise((r) => setTimeout(r, 30));
    await cluster.kill('acceptors', 2);
    const now = await cluster.reconfigure({ acceptors: [0, 1, 3] });
    expect(now).to.include({ epoch: 1, phase1Quorum: 2, phase2Quorum: 2 });
    expect(now.acceptors).to.deep.equal([0, 1, 3]);
    expect(now.position).to.be.a('number');
    // With 2 down and 0 gone too, only the new member makes a quorum with 1.
    await cluster.kill('acceptors', 0);
    const more = values('w', 500);
    const positions = [...(await writing), ...(await cluster.submitMany(more))];
    const everything = [...all, ...more];
    const byValue = new Map(everything.map((v, i) => [v, positions[i]!]));
    checkBroadcast(await Promise.all([collect(cluster, 0, everything.length), collect(cluster, 1, everything.length)]), everything, byValue);
    expect(errors).to.deep.equal([]);
  });

  it('grows and shrinks the membership, and refuses what cannot work', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 5, initialAcceptors: [0], learners: 1, clients: 1 });
    await cluster.ready({ timeoutMs: 20_000 });
    await cluster.submit('one acceptor');
    expect((await cluster.reconfigure({ acceptors: [0, 1, 2, 3, 4], phase1Quorum: 4, phase2Quorum: 2 })).epoch).to.equal(1);
    await cluster.submit('five acceptors');
    expect((await cluster.reconfigure({ acceptors: [3] })).acceptors).to.deep.equal([3]);
    await cluster.submit('one other acceptor');
    for (const bad of [{ acceptors: [] }, { acceptors: [5] }, { acceptors: [0, 1], phase1Quorum: 1, phase2Quorum: 1 }]) {
      const failed = await cluster.reconfigure(bad).then(() => undefined, (e: unknown) => e);
      expect(failed, JSON.stringify(bad)).to.be.instanceOf(ConfigurationError);
    }
    expect((await collect(cluster, 0, 3)).map((v) => v.value)).to.deep.equal(['one acceptor', 'five acceptors', 'one other acceptor']);
  });

  it('two changes asked at once: one holds, the other is told it lost', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 4, initialAcceptors: [0, 1, 2], learners: 1, clients: 1 });
    await cluster.ready({ timeoutMs: 20_000 });
    const outcomes = await Promise.allSettled([cluster.reconfigure({ acceptors: [0, 1, 3] }), cluster.reconfigure({ acceptors: [1, 2, 3] })]);
    const held = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(held, JSON.stringify(outcomes)).to.have.length(1);
    expect(lost[0]?.reason).to.be.instanceOf(MembershipChangeError);
    expect((await cluster.membership())?.acceptors).to.deep.equal((held[0] as PromiseFulfilledResult<Membership>).value.acceptors);
    expect(await cluster.submit('after the race')).to.be.a('number');
  });

  it('a process without a proposer cannot ask, and a membership without a live quorum times out', async () => {
    const id = randomUUID();
    const shape = { proposers: 1, acceptors: 3, learners: 1, clients: 2, id, leaderTimeoutMs: 200, heartbeatIntervalMs: 20 } as const;
    const hosts: Cluster<string>[] = await Promise.all([
      startCluster<string>({ ...shape, host: { proposers: [0], acceptors: [0, 1, 2], learners: [0], clients: [0] } }),
      startCluster<string>({ ...shape, host: { clients: [1] } }),
    ]);
    await hosts[0]!.ready({ timeoutMs: 20_000 });
    const noProposer = await hosts[1]!.reconfigure({ acceptors: [0, 1] }).then(() => undefined, (e: unknown) => e);
    expect(noProposer).to.be.instanceOf(MembershipChangeError);
    await hosts[0]!.kill('acceptors', 1);
    await hosts[0]!.kill('acceptors', 2);
    const noQuorum = await hosts[0]!.reconfigure({ acceptors: [0] }, { timeoutMs: 1500 }).then(() => undefined, (e: unknown) => e);
    expect(noQuorum).to.be.instanceOf(MembershipChangeError).with.property('code', 'ERR_PAXOS_MEMBERSHIP_CHANGE');
    expect((await hosts[0]!.membership())?.epoch).to.equal(0);
  });
});
