import { expect } from 'chai';
import { Cluster, ConfigurationError } from '../../lib/index.js';
import { type TempDir, tempDir } from '../kit/temp-dir.js';
import { checkBroadcast } from '../kit/total-order.js';
import { collect, startCluster, stopAll, submitAll, values } from './helpers.js';

describe('Cluster with durable acceptors (dataDir)', function () {
  this.timeout(120_000);
  let dir: TempDir;
  beforeEach(() => { dir = tempDir('paxos-durable-'); });
  afterEach(async () => {
    await stopAll(); // before the directory goes: the acceptors write into it
    dir.remove();
  });

  it('acceptors killed abruptly restart from disk, one after another, and every value is decided once', async () => {
    const cluster = await startCluster<string>({ proposers: 2, acceptors: 3, learners: 2, clients: 1, dataDir: dir.path, sync: 'batch' });
    const positions = new Map<string, number>();
    const reads = [collect(cluster, 0, 900), collect(cluster, 1, 900)];
    await submitAll(cluster, 0, values('a', 300), positions);
    await cluster.kill('acceptor', 0);
    await submitAll(cluster, 0, values('b', 300), positions);
    await cluster.restart('acceptor', 0);
    await cluster.kill('acceptor', 1); // now acceptor 0's recovered promises and votes are needed
    await submitAll(cluster, 0, values('c', 300), positions);
    await cluster.restart('acceptor', 1);
    checkBroadcast(await Promise.all(reads), [...values('a', 300), ...values('b', 300), ...values('c', 300)], positions);
  });

  it('a whole new cluster started on the same data directory recovers the same log', async () => {
    const first = await Cluster.start<string>({ proposers: 1, acceptors: 3, learners: 1, dataDir: dir.path });
    const all = values('v', 200);
    const before = collect(first, 0, 200);
    await submitAll(first, 0, all, new Map());
    const original = await before;
    await first.stop();

    // Fresh proposers and learners know nothing; the acceptors' disks hold every accepted value,
    // so the new leader's phase 1 recovers them and the new learner delivers the same order.
    const second = await Cluster.start<string>({ proposers: 1, acceptors: 3, learners: 1, dataDir: dir.path });
    try {
      await second.submit('after restart');
      const replay = await collect(second, 0, 201);
      expect(replay.slice(0, 200).map((v) => v.value)).to.deep.equal(original.map((v) => v.value));
      expect(replay[200]!.value).to.equal('after restart');
    } finally {
      await second.stop();
    }
  });

  it('refuses a sync policy without a data directory', async () => {
    await Cluster.start({ sync: 'always' }).then(() => expect.fail('should reject'), (err: unknown) => {
      expect(err).to.be.instanceOf(ConfigurationError);
    });
  });
});
