/**
 * The classic scenarios on real worker threads over the in-process bus. Every scenario ends by
 * checking agreement, validity, exactly-once and completeness over what every learner delivered.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { checkBroadcast } from '../kit/total-order.js';
import { sleep, waitFor } from '../kit/wait.js';
import { collect, delivered, errors, startCluster, stopAll, submitAll, values } from './helpers.js';

describe('Cluster scenarios (worker threads, in-process bus)', function () {
  this.timeout(90_000);
  afterEach(stopAll);

  it('normal: 2 clients x 10,000 values are delivered by both learners in one order, each exactly once', async () => {
    const cluster = await startCluster<string>({ clients: 2, proposers: 2, acceptors: 3, learners: 2 });
    const a = values('a', 10_000);
    const b = values('b', 10_000);
    const positions = new Map<string, number>();
    const started = performance.now();
    await Promise.all([submitAll(cluster, 0, a, positions), submitAll(cluster, 1, b, positions)]);
    const elapsed = performance.now() - started;
    const rate = Math.round(20_000 / (elapsed / 1000));
    console.log(`      normal scenario: 20,000 values decided in ${elapsed.toFixed(0)} ms = ${rate} values/s`);
    const sequences = await Promise.all([collect(cluster, 0, 20_000), collect(cluster, 1, 20_000)]);
    checkBroadcast(sequences, [...a, ...b], positions);
    expect(errors).to.deep.equal([]);
  });

  it('catch-up: a learner restarted after half the values were decided delivers the whole sequence from the first value', async () => {
    const cluster = await startCluster<string>({ clients: 1, proposers: 2, acceptors: 3, learners: 2 });
    await cluster.kill('learner', 1);
    const first = values('first', 1_500);
    const second = values('second', 1_500);
    const positions = new Map<string, number>();
    await submitAll(cluster, 0, first, positions);
    await cluster.restart('learner', 1);
    await submitAll(cluster, 0, second, positions);
    const sequences = await Promise.all([collect(cluster, 0, 3_000), collect(cluster, 1, 3_000)]);
    checkBroadcast(sequences, [...first, ...second], positions);
  });

  it('a learner iterator opened before its learner is killed resumes after restart without gaps or repeats', async () => {
    const cluster = await startCluster<string>({ clients: 1, proposers: 2, acceptors: 3, learners: 2 });
    const all = values('v', 1_000);
    const reading = collect(cluster, 1, all.length);
    const positions = new Map<string, number>();
    await submitAll(cluster, 0, all.slice(0, 400), positions);
    await cluster.kill('learner', 1);
    await submitAll(cluster, 0, all.slice(400, 700), positions);
    await cluster.restart('learner', 1);
    await submitAll(cluster, 0, all.slice(700), positions);
    const sequences = [await collect(cluster, 0, all.length), await reading];
    checkBroadcast(sequences, all, positions);
  });

  it('two of three acceptors (a quorum) still decide every value', async () => {
    const cluster = await startCluster<string>({ clients: 1, proposers: 2, acceptors: 3, learners: 2 });
    await cluster.kill('acceptor', 2);
    const all = values('q', 3_000);
    const positions = new Map<string, number>();
    await submitAll(cluster, 0, all, positions);
    const sequences = await Promise.all([collect(cluster, 0, all.length), collect(cluster, 1, all.length)]);
    checkBroadcast(sequences, all, positions);
  });

  it('one of three acceptors decides nothing and floods nothing; when a second returns every value is decided', async () => {
    const cluster = await startCluster<string>({ clients: 1, proposers: 2, acceptors: 3, learners: 2 });
    // Let a leader establish first, so the minority case covers a leader in phase 2.
    await cluster.submit('warm-up');
    await cluster.kill('acceptor', 1);
    await cluster.kill('acceptor', 2);
    const all = values('m', 500);
    const positions = new Map<string, number>();
    const submitting = submitAll(cluster, 0, all, positions);
    let settled = false;
    void submitting.then(() => { settled = true; }, () => { settled = true; });
    const before = await cluster.metrics();
    const sentBy = (m: typeof before) => m.workers.filter((w) => w.group !== 'acceptors')
      .reduce((sum, w) => sum + (w.metrics?.['transport.messagesSent'] ?? 0), 0);
    // Nothing can be decided without a quorum, whatever the wait; one second shows it is not just slow.
    await sleep(1_000);
    const during = await cluster.metrics();
    expect(settled, 'a submit settled without a quorum').to.equal(false);
    expect(await delivered(cluster, 0)).to.equal(1);
    expect(await delivered(cluster, 1)).to.equal(1);
    const rate = sentBy(during) - sentBy(before);
    expect(rate, 'messages per second from proposers, learners and clients without a quorum').to.be.below(5_000);
    expect(errors).to.deep.equal([]);
    await cluster.restart('acceptor', 1);
    await submitting;
    const sequences = await Promise.all([collect(cluster, 0, all.length + 1), collect(cluster, 1, all.length + 1)]);
    checkBroadcast(sequences, ['warm-up', ...all], positions);
  });

  it('leader crash mid-stream: the other proposer takes over and every value is delivered exactly once', async () => {
    const cluster = await startCluster<string>({ clients: 2, proposers: 2, acceptors: 3, learners: 2 });
    const leaders: (number | undefined)[] = [];
    cluster.on('leader', (e) => leaders.push(e.proposer));
    await waitFor(() => cluster.leader !== undefined, 10_000, 'a leader');
    const oldLeader = cluster.leader!;
    const a = values('a', 5_000);
    const b = values('b', 5_000);
    const positions = new Map<string, number>();
    const submitting = Promise.all([submitAll(cluster, 0, a, positions), submitAll(cluster, 1, b, positions)]);
    await waitFor(() => positions.size >= 1_000, 30_000, '1,000 decided values');
    expect(positions.size, 'the leader was killed mid-stream').to.be.below(10_000);
    await cluster.kill('proposer', oldLeader);
    await submitting;
    expect(cluster.leader).to.not.equal(undefined);
    expect(cluster.leader).to.not.equal(oldLeader);
    expect(leaders).to.include(cluster.leader);
    const sequences = await Promise.all([collect(cluster, 0, 10_000), collect(cluster, 1, 10_000)]);
    checkBroadcast(sequences, [...a, ...b], positions);
  });

  it('10% bus loss plus reordering and duplication: every value delivered exactly once', async () => {
    const cluster = await startCluster<string>({
      clients: 2, proposers: 2, acceptors: 3, learners: 2, faults: { loss: 0.1, jitterMs: 4, duplicate: 0.05 },
    });
    const a = values('a', 2_500);
    const b = values('b', 2_500);
    const positions = new Map<string, number>();
    await Promise.all([submitAll(cluster, 0, a, positions), submitAll(cluster, 1, b, positions)]);
    const sequences = await Promise.all([collect(cluster, 0, 5_000), collect(cluster, 1, 5_000)]);
    checkBroadcast(sequences, [...a, ...b], positions);
    const m = await cluster.metrics();
    const lost = m.workers.reduce((sum, w) => sum + (w.metrics?.['transport.lost'] ?? 0), 0);
    const delayed = m.workers.reduce((sum, w) => sum + (w.metrics?.['transport.delayed'] ?? 0), 0);
    expect(lost, 'the bus really lost messages').to.be.above(0);
    expect(delayed, 'the bus really delayed (reordered) messages').to.be.above(0);
  });
});
