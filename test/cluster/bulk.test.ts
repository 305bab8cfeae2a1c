/** The bulk forms: `submitMany` (one promise for many values) and `learnedBatches()` (arrays per step). */
import { expect } from 'chai';
import { type LearnedValue, ValueTooLargeError } from '../../lib/index.js';
import { checkBroadcast } from '../kit/total-order.js';
import { collect, errors, startCluster, stopAll, values } from './helpers.js';

describe('Cluster bulk submit and delivery', function () {
  this.timeout(60_000);
  afterEach(stopAll);

  it('submitMany resolves with every position, in the order given; learnedBatches yields the same order in arrays', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 2, clients: 2, maxOutstanding: 100 });
    const a = values('a', 3000); // more than maxOutstanding: most wait for room
    const b = values('b', 500);
    const [pa, pb] = await Promise.all([cluster.submitMany(a), cluster.client(1).submitMany(b)]);
    expect(pa).to.have.length(a.length);
    expect(pb).to.have.length(b.length);
    const positions = new Map<string, number>();
    a.forEach((v, i) => positions.set(v, pa[i]!));
    b.forEach((v, i) => positions.set(v, pb[i]!));
    const total = a.length + b.length;
    const batches: number[] = [];
    const viaBatches: LearnedValue<string>[] = [];
    for await (const batch of cluster.learnedBatches({ learner: 1, maxBatch: 700 })) {
      expect(batch.length).to.be.within(1, 700);
      batches.push(batch.length);
      viaBatches.push(...batch);
      if (viaBatches.length >= total) break;
    }
    expect(batches.length, 'values come several per step').to.be.below(total);
    const viaValues = await collect(cluster, 0, total);
    checkBroadcast([viaValues, viaBatches], [...a, ...b], positions);
    expect(await cluster.submitMany([])).to.deep.equal([]);
    expect(errors).to.deep.equal([]);
  });

  it('submitMany rejects before sending anything when one value cannot be encoded, and with the signal\'s reason on abort', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 3, learners: 1, clients: 1, batchMaxBytes: 256, maxOutstanding: 4 });
    const tooLarge = await cluster.submitMany(['ok', 'x'.repeat(1000)]).catch((e: unknown) => e);
    expect(tooLarge).to.be.instanceOf(ValueTooLargeError);
    expect((await cluster.metrics()).clients[0]!.outstanding).to.equal(0);
    const controller = new AbortController();
    const pending = cluster.submitMany(values('s', 200), { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error('enough'));
    expect(((await pending) as Error).message).to.equal('enough');
    // What waited for room was never sent; the client still works.
    expect(await cluster.submitMany(['after'])).to.have.length(1);
  });

  it('learnedBatches validates maxBatch', async () => {
    const cluster = await startCluster<string>({ proposers: 1, acceptors: 1, learners: 1, clients: 1 });
    expect(() => cluster.learnedBatches({ maxBatch: 0 })).to.throw(RangeError, /maxBatch/);
  });
});
