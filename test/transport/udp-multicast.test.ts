/**
 * The UDP multicast transport (lib/transport/udp-multicast.ts) plugged into `Cluster.start({ transport })`:
 * worker threads of one process talk over real sockets, inside a private network namespace (the
 * process runs there). The cluster over the bus is tested in test/cluster/; what this adds is the
 * transport module as workers load it: its settings, real datagrams, and its metrics.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetLab, netnsSkipReason } from '../kit/netns.js';
import { totalOrderProblems } from '../kit/total-order.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cluster-over-udp.js');

describe('Cluster over the UDP multicast transport (in a network namespace)', function () {
  this.timeout(60_000);
  let lab: NetLab | undefined;

  afterEach(async () => {
    await lab?.cleanup(true);
    lab = undefined;
  });

  it('orders values submitted through the cluster API, same order at every learner', async function () {
    const skip = netnsSkipReason();
    if (skip) {
      console.log(`      skipping: ${skip}`);
      this.skip();
    }
    lab = new NetLab('cluster-udp');
    const ns = lab.addNamespace('a');
    const out = await new Promise<string>((resolve, reject) => {
      execFile('ip', ['netns', 'exec', ns, process.execPath, CHILD, '300'], { timeout: 45_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { positions: number; learned: string[][]; datagrams: number };
    expect(result.positions).to.equal(300);
    expect(result.learned).to.have.length(2);
    expect(totalOrderProblems({ learned: result.learned, submitted: Array.from({ length: 300 }, (_, i) => `v${i}`), complete: true })).to.deep.equal([]);
    expect(result.datagrams).to.be.greaterThan(0);
  });
});
