/** `ready()`, and `AbortSignal`s on `start`, `submit` and `learned()`. */
import { expect } from 'chai';
import { Cluster } from '../../lib/index.js';
import { waitFor } from '../kit/wait.js';
import { collect, startCluster, stopAll } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(() => { throw new Error('resolved'); }, (e: unknown) => e as Error);
}

describe('ready() and abort signals', function () {
  this.timeout(60_000);
  afterEach(stopAll);

  it('ready() resolves with the leader; without a quorum it times out or aborts; after stop it rejects', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 1, clients: 1 });
    const leader = await cluster.ready({ timeoutMs: 10_000 });
    expect(leader).to.equal(cluster.leader);
    await cluster.kill('acceptor', 0);
    await cluster.kill('acceptor', 1);
    await waitFor(() => cluster.leader === undefined, 10_000, 'the leader to step down without a quorum (CheckQuorum)');
    expect((await rejection(cluster.ready({ timeoutMs: 200 }))).code).to.equal('ERR_PAXOS_TIMEOUT');
    const controller = new AbortController();
    const waiting = cluster.ready({ signal: controller.signal });
    controller.abort(new Error('gave up'));
    expect((await rejection(waiting)).message).to.equal('gave up');
    const pending = rejection(cluster.ready());
    await cluster.stop();
    expect((await pending).code).to.equal('ERR_PAXOS_CLUSTER_STOPPED');
  });

  it('an aborted submit rejects with the reason; one still waiting for room is never sent', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 3, learners: 1, clients: 1, maxOutstanding: 1 });
    await cluster.ready();
    await cluster.kill('acceptor', 0);
    await cluster.kill('acceptor', 1); // nothing is decided now
    const first = cluster.submit('in flight');
    const controller = new AbortController();
    const second = cluster.submit('waits for room', { signal: controller.signal });
    expect(cluster.client(0).queued).to.equal(1);
    controller.abort(new Error('not needed'));
    expect((await rejection(second)).message).to.equal('not needed');
    expect((await rejection(cluster.submit('x', { signal: AbortSignal.abort(new Error('already')) }))).message).to.equal('already');
    await cluster.restart('acceptor', 0);
    await cluster.restart('acceptor', 1);
    expect(await first).to.equal(0);
    expect(await cluster.submit('after')).to.equal(1);
    expect((await collect(cluster, 0, 2)).map((v) => v.value)).to.deep.equal(['in flight', 'after']);
  });

  it('an aborted learned() iterator rejects its pending next() with the reason, then is done', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 3, learners: 1, clients: 1 });
    const controller = new AbortController();
    const it = cluster.learned({ signal: controller.signal });
    const next = it.next();
    controller.abort(new Error('enough'));
    expect((await rejection(next)).message).to.equal('enough');
    expect(await it.next()).to.deep.equal({ done: true, value: undefined });
  });

  it('an aborted start stops the workers it started and rejects with the reason', async () => {
    const controller = new AbortController();
    const starting = Cluster.start({ proposers: 2, acceptors: 3, learners: 2, clients: 1, signal: controller.signal });
    setImmediate(() => controller.abort(new Error('cancelled')));
    expect((await rejection(starting)).message).to.equal('cancelled');
    expect((await rejection(Cluster.start({ signal: AbortSignal.abort(new Error('before')) }))).message).to.equal('before');
  });
});
