/** The kv-store example: replicas built from different learners' streams end identical. */
import { expect } from 'chai';
import { runKvStore, runKvStoreWithRestart } from '../../examples/kv-store.js';

describe('examples/kv-store', function () {
  this.timeout(60_000);

  it('replicas that apply the learned() streams of different learners end identical', async () => {
    const run = await runKvStore(400, 3, 3);
    expect(run.operations).to.equal(1_200);
    for (const r of run.replicas) expect(r.applied).to.equal(1_200);
    expect(run.identical).to.equal(true);
    expect(run.replicas[0]!.data.size).to.be.above(0);
  });

  it('a replica replaced after the log was trimmed far past its start restores a peer snapshot and ends identical', async () => {
    const run = await runKvStoreWithRestart(600, 3, 3);
    expect(run.trims, 'the log was trimmed').to.be.above(0);
    expect(run.restores, 'the new replica started from a snapshot').to.equal(1);
    expect(run.appliedAfterRestore, 'and applied only what came after it').to.be.below(1_800);
    for (const r of run.replicas) expect(r.applied).to.equal(1_800);
    expect(run.identical).to.equal(true);
  });

  it('still ends identical under 10% loss and reordering', async () => {
    const run = await runKvStore(200, 2, 2, { faults: { loss: 0.1, jitterMs: 3 } });
    expect(run.identical).to.equal(true);
    for (const r of run.replicas) expect(r.applied).to.equal(400);
  });
});
