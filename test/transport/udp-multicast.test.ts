/**
 * The UDP multicast transport (lib/transport/udp-multicast.ts) plugged into `Cluster.start({ transport })`:
 * worker threads of one process talk over real sockets, inside a private network namespace (the
 * process runs there). The cluster over the bus is tested in test/cluster/; what this adds is the
 * transport module as workers load it: its settings, real datagrams, and its metrics.
 */
import { expect } from 'chai';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labPerTest } from '../kit/netns.js';
import { totalOrderProblems } from '../kit/total-order.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cluster-over-udp.js');

describe('Cluster over the UDP multicast transport (in a network namespace)', function () {
  this.timeout(60_000);
  const openLab = labPerTest();

  it('orders values submitted through the cluster API, same order at every learner', async () => {
    const lab = openLab('cluster-udp');
    const out = await lab.runNode(lab.addNamespace('a'), CHILD, ['300', 'multicast'], 45_000);
    const result = JSON.parse(out.trim().split('\n').pop()!) as { positions: number; learned: string[][]; datagrams: number };
    expect(result.positions).to.equal(300);
    expect(result.learned).to.have.length(2);
    expect(totalOrderProblems({ learned: result.learned, submitted: Array.from({ length: 300 }, (_, i) => `v${i}`), complete: true })).to.deep.equal([]);
    expect(result.datagrams).to.be.greaterThan(0);
  });
});
