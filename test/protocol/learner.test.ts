import { expect } from 'chai';
import { Learner } from '../../lib/protocol/learner.js';
import { ballot, batchOf, ofType, options, value } from './harness.js';
import { deliveries, gaps, outgoing } from '../kit/drain.js';

const vote = (instance: number, acceptor: number, b = ballot(1, 0)) => ({ type: 'accepted' as const, ballot: b, instance, acceptor });
const accept = (instance: number, batch = batchOf(value(1, instance)), b = ballot(1, 0)) =>
  ({ type: 'accept' as const, ballot: b, instance, batch });

/** Sessions 1 and 2 registered by the log at instance 0, so that instances from 1 on carry values that count. */
function learnerWithSessions(extra: Parameters<typeof options>[0] = {}): Learner {
  const l = new Learner(0, options(extra));
  const registrations = [1, 2].map((i) => ({ client: 0, seq: 0, value: `nonce-${String(i).padStart(10, '0')}` }));
  l.handle({ type: 'decided', entries: [{ instance: 0, batch: registrations }] }, 0);
  expect(deliveries(l)).to.have.length(0); // registrations are not values
  return l;
}

describe('Learner', () => {
  it('a value is chosen only when a quorum of acceptors accepted the same ballot', () => {
    const l = learnerWithSessions();
    l.handle(accept(1), 0);
    l.handle(vote(1, 0), 0);
    expect(deliveries(l)).to.have.length(0);
    l.handle(vote(1, 0), 0); // the same acceptor twice is still one vote
    expect(deliveries(l)).to.have.length(0);
    l.handle(vote(1, 1, ballot(2, 1)), 0); // a vote for another ballot does not count
    expect(deliveries(l)).to.have.length(0);
    l.handle(vote(1, 1), 0);
    expect(deliveries(l).map((d) => d.value)).to.deep.equal(['v1.1']);
  });

  it('the chosen value is the one proposed with the quorum ballot', () => {
    const l = learnerWithSessions();
    l.handle(accept(1, batchOf(value(1, 0, 'old')), ballot(1, 0)), 0);
    l.handle(accept(1, batchOf(value(1, 0, 'new')), ballot(2, 1)), 0);
    l.handle(vote(1, 0, ballot(2, 1)), 0);
    l.handle(vote(1, 2, ballot(2, 1)), 0);
    expect(deliveries(l).map((d) => d.value)).to.deep.equal(['new']);
  });

  it('delivers in instance order with no gaps, skipping no-ops, positions counting values', () => {
    const l = learnerWithSessions();
    for (const i of [3, 2]) {
      l.handle(accept(i, i === 2 ? [] : batchOf(value(1, i))), 0);
      l.handle(vote(i, 0), 0);
      l.handle(vote(i, 1), 0);
    }
    expect(deliveries(l)).to.have.length(0);
    l.handle(accept(1), 0);
    l.handle(vote(1, 1), 0);
    l.handle(vote(1, 2), 0);
    expect(deliveries(l).map((d) => [d.instance, d.position, d.value])).to.deep.equal([[1, 0, 'v1.1'], [3, 1, 'v1.3']]);
  });

  it('exactly once: a (client, seq) decided twice is delivered once', () => {
    const l = learnerWithSessions();
    l.handle({ type: 'decided', entries: [
      { instance: 1, batch: batchOf(value(1, 0), value(2, 0)) },
      { instance: 2, batch: batchOf(value(2, 0), value(1, 1)) },
    ] }, 0);
    expect(deliveries(l).map((d) => `${d.client}:${d.seq}@${d.position}`)).to.deep.equal(['1:0@0', '2:0@1', '1:1@2']);
    expect(l.metrics.duplicatesDropped).to.equal(1);
  });

  it('sessions: keys are issued in log order, a value of a key never issued is refused, and an idle session retires', () => {
    const l = learnerWithSessions({ sessionIdleInstances: 100 });
    l.handle({ type: 'decided', entries: [{ instance: 1, batch: batchOf(value(3, 0), value(1, 0)) }] }, 0);
    expect(deliveries(l).map((d) => d.client)).to.deep.equal([1]); // session 3 was never registered
    expect(l.metrics.expiredRefused).to.equal(1);
    // Session 2 stays idle while session 1 keeps ordering values: past the window, 2 retires.
    const entries = Array.from({ length: 200 }, (_, k) => ({ instance: 2 + k, batch: batchOf(value(1, 1 + k)) }));
    l.handle({ type: 'decided', entries }, 0);
    expect(deliveries(l)).to.have.length(200);
    l.handle({ type: 'decided', entries: [{ instance: 202, batch: batchOf(value(2, 0), value(1, 201)) }] }, 0);
    expect(deliveries(l).map((d) => `${d.client}:${d.seq}`)).to.deep.equal(['1:201']);
    expect(l.snapshot().clients.map((c) => c.client)).to.deep.equal([1]);
    expect(l.snapshot().nextClient).to.equal(3);
  });

  it('the filter never tracks more than maxSessions sessions: the least recently active retires first', () => {
    const l = new Learner(0, options({ maxSessions: 2 }));
    const register = (i: number) => ({ client: 0, seq: 0, value: `nonce-${String(i).padStart(10, '0')}` });
    l.handle({ type: 'decided', entries: [
      { instance: 0, batch: [register(1), register(2)] },
      { instance: 1, batch: batchOf(value(1, 0)) },
      { instance: 2, batch: [register(3)] }, // session 2 is the least recently active
      { instance: 3, batch: batchOf(value(2, 0), value(1, 1), value(3, 0)) },
    ] }, 0);
    expect(deliveries(l).map((d) => `${d.client}:${d.seq}`)).to.deep.equal(['1:0', '1:1', '3:0']);
    expect(l.snapshot().clients.map((c) => c.client).sort()).to.deep.equal([1, 3]);
  });

  it('asks the proposers for missing instances once it stays behind, then again at once while answers arrive', () => {
    const l = new Learner(3, options({ catchupMs: 50, catchupMaxInstances: 2 }));
    l.handle({ type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 5, quorum: true }, 0);
    l.tick(30);
    expect(outgoing(l)).to.have.length(0); // values may still be on their way
    l.tick(50);
    const [first] = ofType(outgoing(l), 'catchup');
    expect(first).to.deep.equal({ type: 'catchup', requester: { group: 'learners', member: 3 }, from: 0, to: 2 });
    l.handle({ type: 'decided', entries: [{ instance: 0, batch: [] }, { instance: 1, batch: [] }] }, 70);
    expect(ofType(outgoing(l), 'catchup')[0]).to.include({ from: 2, to: 4 });
    l.tick(100);
    expect(outgoing(l)).to.have.length(0);
    l.tick(120);
    expect(ofType(outgoing(l), 'catchup')[0]).to.include({ from: 2, to: 4 }); // answer lost: ask again
  });

  it('continues from a trim snapshot when its start was trimmed away, reporting the gap', () => {
    const l = new Learner(0, options({ trimAfterLearners: 1 }));
    const snapshot = { instance: 10, position: 25, nextClient: 2, clients: [{ client: 1, low: 25, above: [], active: 9 }], part: 0, parts: 1 };
    l.handle({ type: 'trimmed', snapshot }, 0);
    expect(gaps(l)).to.deep.equal([{ fromInstance: 0, toInstance: 10, fromPosition: 0, toPosition: 25 }]);
    l.handle({ type: 'decided', entries: [{ instance: 10, batch: batchOf(value(1, 24), value(1, 25)) }] }, 1);
    expect(deliveries(l).map((d) => [d.position, d.seq])).to.deep.equal([[25, 25]]); // seq 24 was delivered before
  });

  it('reports its progress to the proposers when trimming is on', () => {
    const l = new Learner(2, options({ trimAfterLearners: 3 }));
    l.tick(0);
    expect(ofType(outgoing(l), 'progress')).to.deep.equal([{ type: 'progress', learner: 2, delivered: 0, stateAt: 0 }]);
    expect(ofType(outgoing(new Learner(2, options())), 'progress')).to.have.length(0);
  });

  it('asks on the second tick when its next instance is stuck behind a decided one, not before', () => {
    const l = learnerWithSessions({ catchupMs: 1000 });
    l.handle(accept(1), 0);
    l.handle(vote(1, 0), 0); // instance 1: one vote of a quorum of two, the other lost
    for (const acceptor of [0, 1]) l.handle(vote(2, acceptor), 0);
    l.handle(accept(2), 0); // instance 2 is decided here, instance 1 is not
    expect(deliveries(l)).to.have.length(0);
    l.tick(5);
    expect(ofType(outgoing(l), 'catchup'), 'the first tick gives a slow vote its chance').to.have.length(0);
    l.tick(10);
    expect(ofType(outgoing(l), 'catchup')).to.deep.equal([{ type: 'catchup', requester: { group: 'learners', member: 0 }, from: 1, to: 3 }]);
    l.tick(15);
    expect(ofType(outgoing(l), 'catchup'), 'not again while that request is unanswered').to.have.length(0);
  });

  it('does not ask for catch-up while it keeps up', () => {
    const l = learnerWithSessions();
    for (let i = 1; i <= 10; i++) {
      l.handle(accept(i), i);
      l.handle(vote(i, 0), i);
      l.handle(vote(i, 1), i);
      l.tick(i);
    }
    expect(ofType(outgoing(l), 'catchup')).to.have.length(0);
    expect(deliveries(l)).to.have.length(10);
  });
});
