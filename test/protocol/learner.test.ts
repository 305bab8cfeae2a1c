import { expect } from 'chai';
import { Learner } from '../../lib/protocol/learner.js';
import { ballot, batchOf, ofType, options, value } from './harness.js';

const vote = (instance: number, acceptor: number, b = ballot(1, 0)) => ({ type: 'accepted' as const, ballot: b, instance, acceptor });
const accept = (instance: number, batch = batchOf(value(1, instance)), b = ballot(1, 0)) =>
  ({ type: 'accept' as const, ballot: b, instance, batch });

describe('Learner', () => {
  it('a value is chosen only when a quorum of acceptors accepted the same ballot', () => {
    const l = new Learner(0, options());
    l.handle(accept(0), 0);
    l.handle(vote(0, 0), 0);
    expect(l.takeDeliveries()).to.have.length(0);
    l.handle(vote(0, 0), 0); // the same acceptor twice is still one vote
    expect(l.takeDeliveries()).to.have.length(0);
    l.handle(vote(0, 1, ballot(2, 1)), 0); // a vote for another ballot does not count
    expect(l.takeDeliveries()).to.have.length(0);
    l.handle(vote(0, 1), 0);
    expect(l.takeDeliveries().map((d) => d.value)).to.deep.equal(['v1.0']);
  });

  it('the chosen value is the one proposed with the quorum ballot', () => {
    const l = new Learner(0, options());
    l.handle(accept(0, batchOf(value(1, 0, 'old')), ballot(1, 0)), 0);
    l.handle(accept(0, batchOf(value(1, 0, 'new')), ballot(2, 1)), 0);
    l.handle(vote(0, 0, ballot(2, 1)), 0);
    l.handle(vote(0, 2, ballot(2, 1)), 0);
    expect(l.takeDeliveries().map((d) => d.value)).to.deep.equal(['new']);
  });

  it('delivers in instance order with no gaps, skipping no-ops, positions counting values', () => {
    const l = new Learner(0, options());
    for (const i of [2, 1]) {
      l.handle(accept(i, i === 1 ? [] : batchOf(value(1, i))), 0);
      l.handle(vote(i, 0), 0);
      l.handle(vote(i, 1), 0);
    }
    expect(l.takeDeliveries()).to.have.length(0);
    l.handle(accept(0), 0);
    l.handle(vote(0, 1), 0);
    l.handle(vote(0, 2), 0);
    expect(l.takeDeliveries().map((d) => [d.instance, d.position, d.value])).to.deep.equal([[0, 0, 'v1.0'], [2, 1, 'v1.2']]);
  });

  it('exactly once: a (client, seq) decided twice is delivered once', () => {
    const l = new Learner(0, options());
    l.handle({ type: 'decided', entries: [
      { instance: 0, batch: batchOf(value(1, 0), value(2, 0)) },
      { instance: 1, batch: batchOf(value(2, 0), value(1, 1)) },
    ] }, 0);
    expect(l.takeDeliveries().map((d) => `${d.client}:${d.seq}@${d.position}`)).to.deep.equal(['1:0@0', '2:0@1', '1:1@2']);
    expect(l.metrics.duplicatesDropped).to.equal(1);
  });

  it('asks the proposers for missing instances once it stays behind, then again at once while answers arrive', () => {
    const l = new Learner(3, options({ catchupMs: 50, catchupMaxInstances: 2 }));
    l.handle({ type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 5 }, 0);
    l.tick(30);
    expect(l.takeOutgoing()).to.have.length(0); // values may still be on their way
    l.tick(50);
    const [first] = ofType(l.takeOutgoing(), 'catchup');
    expect(first).to.deep.equal({ type: 'catchup', requester: { group: 'learners', member: 3 }, from: 0, to: 2 });
    l.handle({ type: 'decided', entries: [{ instance: 0, batch: [] }, { instance: 1, batch: [] }] }, 70);
    expect(ofType(l.takeOutgoing(), 'catchup')[0]).to.include({ from: 2, to: 4 });
    l.tick(100);
    expect(l.takeOutgoing()).to.have.length(0);
    l.tick(120);
    expect(ofType(l.takeOutgoing(), 'catchup')[0]).to.include({ from: 2, to: 4 }); // answer lost: ask again
  });

  it('continues from a trim snapshot when its start was trimmed away, reporting the gap', () => {
    const l = new Learner(0, options({ learners: 1 }));
    l.handle({ type: 'trimmed', snapshot: { instance: 10, position: 25, clients: [{ client: 1, low: 25, above: [] }] } }, 0);
    expect(l.takeGaps()).to.deep.equal([{ fromInstance: 0, toInstance: 10, fromPosition: 0, toPosition: 25 }]);
    l.handle({ type: 'decided', entries: [{ instance: 10, batch: batchOf(value(1, 24), value(1, 25)) }] }, 1);
    expect(l.takeDeliveries().map((d) => [d.position, d.seq])).to.deep.equal([[25, 25]]); // seq 24 was delivered before
  });

  it('reports its progress to the proposers when trimming is on', () => {
    const l = new Learner(2, options({ learners: 3 }));
    l.tick(0);
    expect(ofType(l.takeOutgoing(), 'progress')).to.deep.equal([{ type: 'progress', learner: 2, delivered: 0 }]);
    expect(ofType(new Learner(2, options()).takeOutgoing(), 'progress')).to.have.length(0);
  });

  it('does not ask for catch-up while it keeps up', () => {
    const l = new Learner(0, options());
    for (let i = 0; i < 10; i++) {
      l.handle(accept(i), i);
      l.handle(vote(i, 0), i);
      l.handle(vote(i, 1), i);
      l.tick(i);
    }
    expect(ofType(l.takeOutgoing(), 'catchup')).to.have.length(0);
    expect(l.takeDeliveries()).to.have.length(10);
  });
});
