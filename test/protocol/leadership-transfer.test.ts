import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import { options } from './harness.js';
import { MiniNet } from './mini-net.js';

let nonces = 0;
const nonce = (): string => `nonce-${String(++nonces).padStart(12, '0')}`;

function cluster() {
  const o = options({ proposers: 3, acceptors: 3, leaderTimeoutMs: 200 });
  const net = new MiniNet();
  for (const i of [0, 1, 2]) net.add(new Acceptor(i, o));
  const learner = net.add(new Learner(0, o)) as Learner;
  const proposers = [0, 1, 2].map((i) => net.add(new Proposer(i, o, { incarnation: i + 1, random: () => 0.5 })) as Proposer);
  const client = net.add(new Client(0, o, { nonce })) as Client;
  net.run(1000);
  const leader = proposers.find((p) => p.isLeader)!;
  return { net, learner, proposers, client, leader };
}

describe('Leadership transfer', () => {
  it('hands over to a lower id with no gap: every value before, during and after is delivered once, in order', () => {
    const { net, learner, proposers, client, leader } = cluster();
    expect(leader.id, 'the highest id leads').to.equal(2);
    for (let i = 0; i < 20; i++) net.act(client, (c, now) => c.submit(`before-${i}`, now));
    net.run(5);
    net.act(leader, (p, now) => expect(p.transferLeadership(0, now)).to.equal(true));
    for (let i = 0; i < 20; i++) net.act(client, (c, now) => c.submit(`during-${i}`, now));
    net.run(300);
    expect(proposers[0]!.isLeader, 'the target leads').to.equal(true);
    expect(leader.isLeader, 'the old leader stepped down').to.equal(false);
    expect(proposers[0]!.counters().takeovers).to.equal(1);
    net.run(2000); // well past the leader timeout: the higher ids do not take it back
    expect(proposers.map((p) => p.isLeader)).to.deep.equal([true, false, false]);
    for (let i = 0; i < 20; i++) net.act(client, (c, now) => c.submit(`after-${i}`, now));
    net.run(2000);
    const values = net.delivered.get(learner)!.map((d) => d.value);
    const expected = ['before', 'during', 'after'].flatMap((k) => Array.from({ length: 20 }, (_, i) => `${k}-${i}`));
    expect(values).to.deep.equal(expected);
    expect(client.pendingCount).to.equal(0);
  });

  it('a proposer that does not lead asks the leader to hand over (for itself or another), and a lost request changes nothing', () => {
    const { net, proposers, leader } = cluster();
    expect(leader.id).to.equal(2);
    net.drop = (e) => e.message.type === 'transferRequest';
    net.act(proposers[0]!, (p, now) => expect(p.requestTransfer(1, now)).to.equal(true));
    net.run(500);
    expect(proposers.map((p) => p.isLeader), 'the request was lost').to.deep.equal([false, false, true]);
    net.drop = () => false;
    net.act(proposers[0]!, (p, now) => p.requestTransfer(1, now));
    net.run(500);
    expect(proposers.map((p) => p.isLeader)).to.deep.equal([false, true, false]);
    net.act(proposers[0]!, (p, now) => p.requestTransfer(0, now)); // for itself
    net.act(proposers[0]!, (p, now) => p.requestTransfer(0, now)); // a duplicate is harmless
    net.run(500);
    expect(proposers.map((p) => p.isLeader)).to.deep.equal([true, false, false]);
    expect(proposers[0]!.requestTransfer(7, net.now), 'no such proposer').to.equal(false);
  });

  it('gives up at the deadline when the target is down, and leads on', () => {
    const { net, learner, proposers, client, leader } = cluster();
    net.down('proposers', 0);
    net.act(leader, (p, now) => p.transferLeadership(0, now));
    net.act(client, (c, now) => c.submit('while handing over', now));
    net.run(100);
    expect(net.delivered.get(learner) ?? [], 'no new value is admitted meanwhile').to.have.length(0);
    net.run(1500);
    expect(leader.isLeader).to.equal(true);
    expect(leader.counters().transfersAborted).to.equal(1);
    expect(net.delivered.get(learner)!.map((d) => d.value)).to.deep.equal(['while handing over']);
    expect(proposers[1]!.isLeader).to.equal(false);
  });

  it('refuses unless it leads, and ignores a takeover from a deposed leader', () => {
    const { net, proposers, leader } = cluster();
    expect(proposers[0]!.transferLeadership(1, net.now)).to.equal(false);
    expect(leader.transferLeadership(leader.id, net.now)).to.equal(false);
    expect(leader.transferLeadership(7, net.now)).to.equal(false);
    net.act(proposers[0]!, (p, now) => p.handle({ type: 'takeover', from: 1, ballot: { round: 0, node: 0 } }, now));
    net.run(300);
    expect(proposers[0]!.isLeader).to.equal(false);
    expect(leader.isLeader).to.equal(true);
  });
});
