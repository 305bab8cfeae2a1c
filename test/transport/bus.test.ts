/** The in-process bus on its own (several endpoints in one thread): addressing and fault injection. */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { BusTransport, type BusTopology, type FaultSettings } from '../../lib/transport/bus.js';
import type { Group, Message } from '../../lib/protocol/messages.js';
import { ConfigurationError } from '../../lib/protocol/options.js';
import { ballot } from '../kit/ballot.js';
import { sleep, waitFor } from '../kit/wait.js';

const topology: BusTopology = { clients: 1, proposers: 2, acceptors: 3, learners: 1 };
const beat = (from: number): Message => ({ type: 'heartbeat', from, ballot: ballot(1, 0), leading: false, decided: 0, quorum: false });

interface Node { bus: BusTransport; self: { group: Group; id: number }; got: Message[] }

function mesh(faults?: FaultSettings, encoding?: 'clone' | 'json'): { nodes: Map<string, Node>; close: () => void } {
  const namespace = randomUUID();
  const nodes = new Map<string, Node>();
  for (const group of ['clients', 'proposers', 'acceptors', 'learners'] as Group[]) {
    for (let id = 0; id < topology[group]; id++) {
      const node: Node = { bus: new BusTransport({ namespace, topology, faults, encoding }), self: { group, id }, got: [] };
      node.bus.start([node.self], (m) => node.got.push(m));
      nodes.set(`${group}/${id}`, node);
    }
  }
  return { nodes, close: () => { for (const n of nodes.values()) n.bus.close(); } };
}

describe('Bus transport', () => {
  for (const encoding of ['clone', 'json'] as const) {
    it(`(${encoding}) a message to a group reaches every member, the sender included; to a member, only that member`, async () => {
      const { nodes, close } = mesh(undefined, encoding);
      try {
        const p1 = nodes.get('proposers/1')!;
        p1.bus.send(p1.self, [{ to: { group: 'acceptors' }, message: beat(1) }, { to: { group: 'proposers' }, message: beat(1) }]);
        p1.bus.send(p1.self, [{ to: { group: 'learners', member: 0 }, message: beat(7) }]);
        await waitFor(() => [0, 1, 2].every((i) => nodes.get(`acceptors/${i}`)!.got.length === 1) && p1.got.length === 1 &&
          nodes.get('proposers/0')!.got.length === 1 && nodes.get('learners/0')!.got.length === 1, 2_000, 'deliveries');
        expect(nodes.get('learners/0')!.got[0]).to.deep.equal(beat(7));
        expect(nodes.get('clients/0')!.got).to.deep.equal([]);
        await sleep(20);
        expect([...nodes.values()].reduce((n, x) => n + x.got.length, 0), 'nothing else arrived').to.equal(6);
      } finally {
        close();
      }
    });
  }

  it('loss 1 drops everything, duplicate 1 delivers twice, a partition cuts both ways', async () => {
    const { nodes, close } = mesh({ loss: 1 });
    try {
      const c = nodes.get('clients/0')!;
      c.bus.send(c.self, [{ to: { group: 'proposers' }, message: beat(0) }]);
      // Faults apply where messages arrive: wait until both proposers dropped it.
      await waitFor(() => nodes.get('proposers/0')!.bus.metrics.lost === 1 && nodes.get('proposers/1')!.bus.metrics.lost === 1, 2_000, 'losses');
      for (const n of nodes.values()) n.bus.setFaults({ duplicate: 1 });
      c.bus.send(c.self, [{ to: { group: 'proposers' }, message: beat(1) }]);
      await waitFor(() => nodes.get('proposers/0')!.got.length === 2 && nodes.get('proposers/1')!.got.length === 2, 2_000, 'duplicates');
      expect(nodes.get('proposers/0')!.got).to.deep.equal([beat(1), beat(1)]);
      for (const n of nodes.values()) n.bus.setFaults({ partition: [{ group: 'proposers', id: 1 }, { group: 'acceptors', id: 0 }] });
      nodes.get('proposers/1')!.bus.send(nodes.get('proposers/1')!.self, [{ to: { group: 'acceptors' }, message: beat(2) }]);
      nodes.get('proposers/0')!.bus.send(nodes.get('proposers/0')!.self, [{ to: { group: 'acceptors' }, message: beat(3) }]);
      await waitFor(() => ['acceptors/1', 'acceptors/2'].every((k) => nodes.get(k)!.got.length === 1) &&
        nodes.get('acceptors/0')!.got.length === 1, 2_000, 'partitioned deliveries');
      expect(nodes.get('acceptors/0')!.got).to.deep.equal([beat(2)]);
      expect(nodes.get('acceptors/1')!.got).to.deep.equal([beat(3)]);
      expect(nodes.get('acceptors/0')!.bus.metrics.partitioned).to.equal(1);
    } finally {
      close();
    }
  });

  it('delay and jitter hold messages back; close drops what is still held', async () => {
    const { nodes, close } = mesh({ delayMs: 30 });
    const a0 = nodes.get('acceptors/0')!;
    const started = Date.now();
    nodes.get('proposers/0')!.bus.send(nodes.get('proposers/0')!.self, [{ to: { group: 'acceptors', member: 0 }, message: beat(1) }]);
    await waitFor(() => a0.got.length === 1, 2_000, 'the delayed message');
    expect(Date.now() - started).to.be.at.least(29);
    nodes.get('proposers/0')!.bus.send(nodes.get('proposers/0')!.self, [{ to: { group: 'acceptors', member: 0 }, message: beat(2) }]);
    await waitFor(() => a0.bus.metrics.delayed === 2, 2_000, 'the second message to be held');
    close();
    await sleep(50);
    expect(a0.got).to.have.length(1);
  });

  it('rejects invalid fault settings', () => {
    expect(() => new BusTransport({ namespace: 'x', topology, faults: { loss: -0.1 } })).to.throw(ConfigurationError);
    expect(() => new BusTransport({ namespace: 'x', topology, faults: { jitterMs: Number.NaN } })).to.throw(ConfigurationError);
    expect(() => new BusTransport({ namespace: 'x', topology, faults: { partition: [{ group: 'nobody' as Group, id: 0 }] } })).to.throw(ConfigurationError);
  });
});
