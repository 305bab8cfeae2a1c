/**
 * The UDP unicast transport (lib/transport/udp-unicast.ts), inside a private network namespace:
 * its fan-out (a group message is one datagram per member with an address, the sender included;
 * a member message reaches that member only; the wrong secret gets nothing in), and the
 * in-process cluster over it (`Cluster.start({ transport })`, workers building it from settings).
 */
import { expect } from 'chai';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labPerTest } from '../kit/netns.js';
import { totalOrderProblems } from '../kit/total-order.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

describe('UDP unicast transport (in a network namespace)', function () {
  this.timeout(60_000);
  const openLab = labPerTest();

  it('a group message goes to every member of the group with an address (the sender too), a member message to that member only', async () => {
    const lab = openLab('unicast-fanout');
    const out = await lab.runNode(lab.addNamespace('a'), join(FIXTURES, 'unicast-fanout.js'), [], 20_000);
    const { received, metrics } = JSON.parse(out.trim().split('\n').pop()!) as
      { received: string[]; metrics: Record<string, Record<string, number>> };
    expect(received).to.deep.equal([
      'a0 acceptors/0 prepare', 'a1 acceptors/1 prepare', 'a2 acceptors/2 prepare', 'a2 acceptors/2 trim',
      'p learners/0 heartbeat', 'p proposers/0 heartbeat',
    ].sort());
    // 3 acceptors + 1 proposer with an address + 1 learner + acceptor 2 alone.
    expect(metrics.p!.datagramsOut).to.equal(6);
    expect(metrics.p!.messagesOut).to.equal(4);
    expect(metrics.x!.datagramsOut).to.equal(3);
    for (const a of ['a0', 'a1', 'a2']) expect(metrics[a]!.droppedUnauthenticated, a).to.equal(1);
  });

  it('orders values submitted through the cluster API, same order at every learner', async () => {
    const lab = openLab('cluster-unicast');
    const out = await lab.runNode(lab.addNamespace('a'), join(FIXTURES, 'cluster-over-udp.js'), ['300', 'unicast'], 45_000);
    const result = JSON.parse(out.trim().split('\n').pop()!) as { positions: number; learned: string[][]; datagrams: number; datagramsOut: number };
    expect(result.positions).to.equal(300);
    expect(result.learned).to.have.length(2);
    expect(totalOrderProblems({ learned: result.learned, submitted: Array.from({ length: 300 }, (_, i) => `v${i}`), complete: true })).to.deep.equal([]);
    expect(result.datagrams).to.be.greaterThan(0);
    expect(result.datagramsOut, 'no more datagrams received than sent').to.be.at.least(result.datagrams);
  });
});
