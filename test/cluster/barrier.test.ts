/** `cluster.barrier()`: a read index confirmed with a quorum, for linearizable reads from `learned()`. */
import { expect } from 'chai';
import { ClusterStoppedError, MemberStateError } from '../../lib/index.js';
import { collect, errors, startCluster, stopAll, values } from './helpers.js';

describe('Cluster read barriers', function () {
  this.timeout(60_000);
  afterEach(stopAll);

  it('resolves with a position above every value decided before the call; a learner that delivered that far has them all', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 2, clients: 2 });
    const written = values('w', 200);
    const positions = await cluster.client(1).submitMany(written);
    const upTo = await cluster.barrier();
    expect(upTo).to.be.at.least(Math.max(...positions) + 1);
    const seen = await collect(cluster, 1, upTo);
    expect(seen.map((v) => v.value)).to.include.members(written);
    expect(errors).to.deep.equal([]);
  });

  it('many concurrent barriers share confirm rounds, and a barrier with nothing written is answered too', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 3, learners: 1, clients: 1 });
    expect(await cluster.barrier()).to.equal(0);
    const writes = cluster.submitMany(values('x', 1000));
    const answers = await Promise.all(Array.from({ length: 300 }, () => cluster.barrier()));
    await writes;
    for (const a of answers) expect(a).to.be.within(0, 1000);
    expect(await cluster.barrier()).to.equal(1000);
    const leader = (await cluster.metrics()).workers.find((w) => w.group === 'proposers')!;
    expect(leader.metrics?.barriersPassed).to.be.at.least(302);
    expect(leader.metrics?.barrierRounds, 'rounds are shared').to.be.below(302);
  });

  it('survives a leader change: asked while the leader is down, answered by the next one', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 1, clients: 1, leaderTimeoutMs: 100, heartbeatIntervalMs: 10 });
    await cluster.submitMany(values('before', 50));
    const leader = await cluster.ready();
    await cluster.kill('proposers', leader);
    const upTo = await cluster.barrier({ signal: AbortSignal.timeout(20_000) });
    expect(upTo).to.be.at.least(50);
  });

  it('rejects while its client is killed and after stop, and with the signal\'s reason', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 3, learners: 1, clients: 1 });
    const aborted = await cluster.barrier({ signal: AbortSignal.abort(new Error('no wait')) }).then(() => undefined, (e: unknown) => e as Error);
    expect(aborted?.message).to.equal('no wait');
    await cluster.kill('clients', 0);
    expect(await cluster.barrier().catch((e: unknown) => e)).to.be.instanceOf(MemberStateError);
    await cluster.stop();
    expect(await cluster.barrier().catch((e: unknown) => e)).to.be.instanceOf(ClusterStoppedError);
  });
});
