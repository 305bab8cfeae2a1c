import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import { ReadBarriers } from '../../lib/protocol/read-barriers.js';
import { Outbox } from '../../lib/protocol/role.js';
import { ballot, options } from './harness.js';
import { MiniNet } from './mini-net.js';

let nonces = 0;
const nonce = (): string => `nonce-${String(++nonces).padStart(12, '0')}`;

function cluster(proposers = 1) {
  const o = options({ proposers, acceptors: 3 });
  const net = new MiniNet();
  for (const i of [0, 1, 2]) net.add(new Acceptor(i, o));
  const learner = net.add(new Learner(0, o)) as Learner;
  const leaders = Array.from({ length: proposers }, (_, i) => net.add(new Proposer(i, o, { incarnation: i + 1, random: () => 0.5 })) as Proposer);
  const client = net.add(new Client(0, o, { nonce })) as Client;
  return { net, learner, leaders, client };
}

describe('Read barriers (read index)', () => {
  it('answers with a position at or above every value decided before the call, without writing to the log', () => {
    const { net, learner, client } = cluster();
    for (let i = 0; i < 5; i++) net.act(client, (c, now) => c.submit(`v${i}`, now));
    net.run(500);
    expect(net.delivered.get(learner)).to.have.length(5);
    const instancesBefore = learner.delivered;
    net.act(client, (c, now) => c.barrier('barrier-token-0001', now));
    net.run(200);
    expect(net.barriers.get(client)).to.deep.equal([{ token: 'barrier-token-0001', position: 5 }]);
    expect(learner.delivered, 'a barrier is not a log entry').to.equal(instancesBefore);
  });

  it('waits until the leader delivered what it had proposed: a value another learner has is covered', () => {
    const { net, learner, leaders: [leader], client } = cluster();
    net.act(client, (c, now) => c.submit('opens the session', now));
    net.run(1000);
    // The leader's own votes are lost: the learner delivers the value, the leader does not yet.
    net.drop = (e) => e.to === leader && e.message.type === 'accepted';
    net.act(client, (c, now) => c.submit('decided elsewhere first', now));
    net.run(50);
    expect(net.delivered.get(learner)).to.have.length(2);
    net.act(client, (c, now) => c.barrier('barrier-token-0002', now));
    net.run(50);
    expect(net.barriers.get(client) ?? [], 'answered before the leader delivered').to.deep.equal([]);
    net.drop = () => false;
    net.run(1000);
    expect(net.barriers.get(client)).to.deep.equal([{ token: 'barrier-token-0002', position: 2 }]);
  });

  describe('the confirm round', () => {
    const o = options({ acceptors: 3 });
    const ours = ballot(2, 0);
    const setup = () => {
      const outbox = new Outbox();
      const metrics = { barrierRounds: 0, barriersPassed: 0 };
      return { outbox, metrics, barriers: new ReadBarriers(o, outbox, metrics) };
    };
    const confirmed = (acceptor: number, promised = ours, round = 1, b = ours) => ({ type: 'confirmed' as const, ballot: b, acceptor, round, promised });
    const passed = (outbox: Outbox) => outbox.take().filter((x) => x.message.type === 'barrierPassed').map((x) => x.message);

    it('needs a phase-2 quorum that promised nothing above our ballot', () => {
      const { outbox, barriers } = setup();
      barriers.request(['t-0123456789abcdef'], ours, 7, 0);
      expect(outbox.take().map((x) => x.message)).to.deep.equal([{ type: 'confirm', ballot: ours, round: 1 }]);
      barriers.onConfirmed(confirmed(0), ours, 7, 1);
      barriers.onConfirmed(confirmed(1, ballot(3, 1)), ours, 7, 1); // a rival's promise: does not count
      barriers.onConfirmed(confirmed(0), ours, 7, 1); // the same acceptor twice is one answer
      barriers.onConfirmed(confirmed(2, ours, 1, ballot(1, 0)), ours, 7, 1); // an answer to an earlier life's ballot
      barriers.onConfirmed(confirmed(2, ours, 0), ours, 7, 1); // an answer to another round
      barriers.answerDelivered(100, 50);
      expect(passed(outbox)).to.deep.equal([]);
      barriers.onConfirmed(confirmed(2, ballot(1, 1)), ours, 7, 1); // a lower promise counts
      barriers.answerDelivered(6, 40);
      expect(passed(outbox), 'not before instance 6 is delivered').to.deep.equal([]);
      barriers.answerDelivered(7, 41);
      expect(passed(outbox)).to.deep.equal([{ type: 'barrierPassed', tokens: ['t-0123456789abcdef'], position: 41 }]);
    });

    it('a barrier asked while a round is out waits for the next round', () => {
      const { outbox, barriers, metrics } = setup();
      barriers.request(['t-first-000000000'], ours, 3, 0);
      barriers.request(['t-second-00000000'], ours, 4, 1);
      barriers.onConfirmed(confirmed(0), ours, 5, 2);
      barriers.onConfirmed(confirmed(1), ours, 5, 2);
      expect(metrics.barrierRounds).to.equal(2);
      barriers.answerDelivered(5, 9);
      expect(passed(outbox)).to.deep.equal([{ type: 'barrierPassed', tokens: ['t-first-000000000'], position: 9 }]);
      barriers.onConfirmed(confirmed(0, ours, 2), ours, 5, 3);
      barriers.onConfirmed(confirmed(2, ours, 2), ours, 5, 3);
      barriers.answerDelivered(5, 9);
      expect(passed(outbox)).to.deep.equal([{ type: 'barrierPassed', tokens: ['t-second-00000000'], position: 9 }]);
    });

    it('forgets everything when the leader steps down', () => {
      const { outbox, barriers } = setup();
      barriers.request(['t-0123456789abcdef'], ours, 1, 0);
      barriers.onConfirmed(confirmed(0), ours, 1, 1);
      barriers.onConfirmed(confirmed(1), ours, 1, 1);
      barriers.clear();
      barriers.answerDelivered(10, 10);
      expect(passed(outbox)).to.deep.equal([]);
    });
  });

  it('is asked again after a lost request, and answered once', () => {
    const { net, client } = cluster();
    net.run(300);
    let lost = 0;
    net.drop = (e) => e.message.type === 'barrier' && lost++ === 0;
    net.act(client, (c, now) => c.barrier('barrier-token-0004', now));
    net.run(2000);
    expect(lost).to.be.greaterThan(1);
    expect(net.barriers.get(client)?.map((b) => b.token)).to.deep.equal(['barrier-token-0004']);
  });
});
