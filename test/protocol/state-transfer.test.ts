import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import type { Delivery } from '../../lib/protocol/role.js';
import { decodeState, encodeState } from '../../lib/protocol/state-blob.js';
import { StateTransfer } from '../../lib/protocol/state-transfer.js';
import { Outbox } from '../../lib/protocol/role.js';
import type { StateChunkMessage } from '../../lib/protocol/messages.js';
import { gaps, restoredStates } from '../kit/drain.js';
import { options } from './harness.js';
import { MiniNet } from './mini-net.js';

let nonces = 0;
const nonce = (): string => `nonce-${String(++nonces).padStart(12, '0')}`;

/** An application: the values it applied, in order; its snapshot is their JSON. */
class App {
  values: string[] = [];
  applied = 0;

  follow(deliveries: readonly Delivery[]): void {
    for (; this.applied < deliveries.length; this.applied++) {
      const d = deliveries[this.applied]!;
      if (d.position !== this.values.length) throw new Error(`position ${d.position} after ${this.values.length} values`);
      this.values.push(d.value as string);
    }
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }

  restore(bytes: Uint8Array, deliveredSoFar: number): void {
    this.values = JSON.parse(new TextDecoder().decode(bytes)) as string[];
    this.applied = deliveredSoFar;
  }
}

function cluster(learners: number) {
  // Tiny chunks, so that every state travels in many of them.
  const o = options({ proposers: 1, acceptors: 3, trimAfterLearners: learners, trimKeepInstances: 1, stateSnapshots: true, stateChunkBytes: 40 });
  const net = new MiniNet();
  for (const i of [0, 1, 2]) net.add(new Acceptor(i, o));
  const nodes = Array.from({ length: learners }, (_, i) => net.add(new Learner(i, o)) as Learner);
  const apps = nodes.map(() => new App());
  const proposer = net.add(new Proposer(0, o, { incarnation: 1, random: () => 0.5 })) as Proposer;
  const client = net.add(new Client(0, o, { nonce })) as Client;
  net.run(500);
  /** Submit `n` values one instance each; each learner's app follows and snapshots as it goes. */
  const submit = (prefix: string, n: number, snapshotting: readonly Learner[] = nodes): void => {
    for (let i = 0; i < n; i++) {
      net.act(client, (c, now) => c.submit(`${prefix}-${i}`, now));
      net.run(30);
      nodes.forEach((l, k) => {
        if (net.nodes.learners[k] !== l) return;
        apps[k]!.follow(net.delivered.get(l) ?? []);
        if (!snapshotting.includes(l)) return;
        const point = l.markState()!;
        expect(point.position).to.equal(apps[k]!.values.length);
        l.stateTaken(point.instance, apps[k]!.snapshot());
      });
    }
  };
  return { o, net, nodes, apps, proposer, submit };
}

describe('Application state between learners (stateSnapshots)', () => {
  it('a learner restarted after the log was trimmed past it restores a peer state and ends identical, each value once', () => {
    const { o, net, nodes, apps, proposer, submit } = cluster(2);
    submit('a', 30);
    expect(proposer.counters().trims, 'the log was trimmed').to.be.greaterThan(0);
    net.down('learners', 1);
    submit('b', 10, [nodes[0]!]);
    const fresh = net.add(new Learner(1, o)) as Learner;
    submit('c', 10, [nodes[0]!]);
    const restored = restoredStates(fresh);
    expect(restored, 'one restore').to.have.length(1);
    expect(gaps(fresh), 'no gap').to.deep.equal([]);
    const app = new App();
    const delivered = net.delivered.get(fresh) ?? [];
    expect(delivered[0]!.position, 'deliveries continue right after the state').to.equal(restored[0]!.position);
    app.restore(restored[0]!.state, 0);
    app.follow(delivered);
    expect(app.values).to.deep.equal(apps[0]!.values);
    expect(new Set(app.values).size).to.equal(app.values.length);
    expect(app.values).to.have.length(50);
    expect(fresh.counters().statesRestored).to.equal(1);
    expect(nodes[0]!.counters().stateChunksSent).to.be.greaterThan(5);
  });

  it('the leader trims no further than the newest state every gating learner holds', () => {
    const { net, nodes, proposer, submit } = cluster(2);
    submit('a', 20, [nodes[0]!]); // learner 1 never takes a state
    expect(proposer.counters().trims, 'no trim while learner 1 holds no state').to.equal(0);
    submit('b', 5);
    expect(proposer.counters().trims).to.be.greaterThan(0);
    const lowestState = Math.min(...nodes.map((l) => decodeState(l.heldState!)!.delivery.instance));
    expect(proposer.learner.trimPoint!.instance).to.be.within(1, lowestState);
    void net;
  });

  it('moves to another source when the one it chose goes silent mid-transfer', () => {
    const { o, net, nodes, apps, submit } = cluster(3);
    submit('a', 30);
    net.down('learners', 2);
    // Learner 0 offers first, then falls silent: its chunks after the first are lost.
    net.drop = (e) => e.message.type === 'stateChunk' && e.message.learner === 0 && e.message.chunk > 0;
    const fresh = net.add(new Learner(2, o)) as Learner;
    submit('b', 10, [nodes[0]!, nodes[1]!]);
    net.run(2000);
    const restored = restoredStates(fresh);
    expect(restored).to.have.length(1);
    const values = JSON.parse(new TextDecoder().decode(restored[0]!.state)) as string[];
    expect(values).to.deep.equal(apps[0]!.values.slice(0, restored[0]!.position));
  });

  it('a learner with no state to fetch keeps asking and delivers nothing past the trim point', () => {
    const { o, net, submit } = cluster(2);
    submit('a', 30);
    net.down('learners', 0);
    net.down('learners', 1);
    const fresh = net.add(new Learner(1, o)) as Learner;
    net.run(1000);
    expect(net.delivered.get(fresh) ?? []).to.deep.equal([]);
    expect(gaps(fresh)).to.deep.equal([]);
    expect(restoredStates(fresh)).to.deep.equal([]);
  });

  it('assembles the chunks of one source\'s one state only (a planted mix of two survived the simulator)', () => {
    const o = options({ stateSnapshots: true, stateChunkBytes: 40 });
    const delivery = (instance: number) => ({ instance, position: instance * 2, nextClient: 1, clients: [] });
    const chunksOf = (learner: number, instance: number, fill: number): StateChunkMessage[] => {
      const blob = encodeState({ delivery: delivery(instance), app: new Uint8Array(60).fill(fill) });
      const chunks = Math.ceil(blob.byteLength / 40);
      return Array.from({ length: chunks }, (_, chunk) => ({ type: 'stateChunk', learner, instance, chunk, chunks, data: blob.slice(chunk * 40, (chunk + 1) * 40) }));
    };
    const fetcher = new StateTransfer(0, o, new Outbox());
    fetcher.want(5, 0);
    const mine = chunksOf(1, 10, 7);
    const other = chunksOf(2, 10, 9); // same instance and size, another source
    const newer = chunksOf(1, 11, 8); // same source, another state
    expect(mine.length).to.equal(other.length).and.to.be.greaterThan(2);
    expect(fetcher.receive(mine[0]!, 1)).to.equal(undefined); // the offer: source 1, instance 10
    for (const c of [...other.slice(1), ...newer.slice(1)]) expect(fetcher.receive(c, 2)).to.equal(undefined);
    let whole;
    for (const c of mine.slice(1)) whole = fetcher.receive(c, 3);
    expect(whole).to.deep.equal({ delivery: delivery(10), app: new Uint8Array(60).fill(7) });
  });

  it('a source slower than a few request intervals is not dropped (simulator seed 1001481: a 199-chunk state never arrived)', () => {
    const o = options({ stateSnapshots: true, stateChunkBytes: 40, catchupMs: 10, leaderTimeoutMs: 400, heartbeatIntervalMs: 50 });
    const blob = encodeState({ delivery: { instance: 10, position: 20, nextClient: 1, clients: [] }, app: new Uint8Array(100).fill(3) });
    const chunks = Math.ceil(blob.byteLength / 40);
    const chunk = (k: number): StateChunkMessage => ({ type: 'stateChunk', learner: 1, instance: 10, chunk: k, chunks, data: blob.slice(k * 40, (k + 1) * 40) });
    const fetcher = new StateTransfer(0, o, new Outbox());
    fetcher.want(5, 0);
    fetcher.receive(chunk(0), 0);
    for (let t = 10; t <= 150; t += 10) fetcher.poll(t); // round trips of 150 ms: 15 requests go unanswered meanwhile
    let whole;
    for (let k = 1; k < chunks; k++) whole = fetcher.receive(chunk(k), 160);
    expect(whole?.delivery.instance).to.equal(10);
  });

  it('state blobs round-trip, and anything else is refused', () => {
    const delivery = { instance: 12, position: 40, nextClient: 3, clients: [{ client: 1, low: 5, above: [7, 9], active: 11 }, { client: 2, low: 0, above: [], active: 0 }] };
    const app = new Uint8Array([1, 2, 3, 255]);
    expect(decodeState(encodeState({ delivery, app }))).to.deep.equal({ delivery, app });
    expect(decodeState(new Uint8Array([0, 0, 0, 9, 1, 2]))).to.equal(undefined);
    expect(decodeState(new Uint8Array(2))).to.equal(undefined);
    const truncated = encodeState({ delivery, app }).slice(0, 30);
    expect(decodeState(truncated)).to.equal(undefined);
  });
});
