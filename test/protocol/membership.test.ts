import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import { ReadBarriers } from '../../lib/protocol/read-barriers.js';
import { Outbox } from '../../lib/protocol/role.js';
import { ConfigurationError } from '../../lib/protocol/options.js';
import {
  EPOCH_ROUNDS, RECONFIGURATION_CLIENT, epochOf, memberIds, membershipOf, reconfigurationEntry, resolveMembership, stopSignIn,
} from '../../lib/protocol/membership.js';
import type { Ballot } from '../../lib/protocol/ballot.js';
import type { Outgoing } from '../../lib/protocol/messages.js';
import { deliveries, outgoing } from '../kit/drain.js';
import { ballot, batchOf, options, value } from './harness.js';
import { MiniNet } from './mini-net.js';

let nonces = 0;
const nonce = (): string => `nonce-${String(++nonces).padStart(12, '0')}`;
/** A ballot of `epoch`. */
const inEpoch = (epoch: number, round: number, proposer: number): Ballot => ({ ...ballot(round, proposer), round: epoch * EPOCH_ROUNDS + round });

describe('Membership: the stop-sign entry', () => {
  it('resolves a membership with majorities or a valid flexible pair, and refuses what cannot work', () => {
    expect(resolveMembership({ acceptors: [3, 0, 1] }, 4, 1)).to.deep.equal({ epoch: 1, acceptors: 0b1011, phase1Quorum: 2, phase2Quorum: 2 });
    expect(resolveMembership({ acceptors: [0, 1, 2], phase1Quorum: 3, phase2Quorum: 1 }, 3, 2).phase2Quorum).to.equal(1);
    for (const bad of [{ acceptors: [] }, { acceptors: [4] }, { acceptors: [0, 0] }, { acceptors: [0, 1, 2], phase1Quorum: 1, phase2Quorum: 2 }]) {
      expect(() => resolveMembership(bad, 4, 1), JSON.stringify(bad)).to.throw(ConfigurationError);
    }
  });

  it('travels as a log entry, and ends only the epoch before the one it names', () => {
    const next = resolveMembership({ acceptors: [1, 2, 3] }, 4, 1);
    const entry = reconfigurationEntry(next);
    expect(entry.client).to.equal(RECONFIGURATION_CLIENT);
    expect(membershipOf(entry)).to.deep.equal(next);
    const epoch0 = { epoch: 0, acceptors: 0b111, phase1Quorum: 2, phase2Quorum: 2 };
    expect(stopSignIn([value(5, 0), entry], epoch0)).to.deep.equal(next);
    expect(stopSignIn([entry], next), 'a stale one is a no-op').to.equal(undefined);
    expect(membershipOf({ ...entry, value: '7 9 9' }), 'quorums above the members').to.equal(undefined);
    expect(memberIds(next)).to.deep.equal([1, 2, 3]);
  });
});

describe('Membership: acceptors keep promises per epoch', () => {
  const o = options({ acceptors: 3 });
  const answers = (a: Acceptor): Outgoing['message'][] => outgoing(a).map((x) => x.message);

  it('a promise in a later epoch does not bar a proposer recovering an earlier one', () => {
    const a = new Acceptor(0, o);
    a.handle({ type: 'prepare', ballot: inEpoch(1, 1, 0), from: 10 });
    a.handle({ type: 'prepare', ballot: inEpoch(0, 5, 1), from: 0 });
    a.handle({ type: 'prepare', ballot: inEpoch(0, 4, 1), from: 0 });
    expect(answers(a).map((m) => m.type)).to.deep.equal(['promise', 'promise', 'nack']);
  });

  it("an earlier epoch's 2a never replaces a later epoch's vote at an instance", () => {
    const a = new Acceptor(0, o);
    a.handle({ type: 'accept', ballot: inEpoch(1, 1, 0), instance: 12, batch: batchOf(value(1, 0)) });
    a.handle({ type: 'accept', ballot: inEpoch(0, 9, 1), instance: 12, batch: batchOf(value(2, 0)) });
    a.handle({ type: 'accept', ballot: inEpoch(0, 9, 1), instance: 11, batch: batchOf(value(2, 1)) });
    // Each vote goes to the learners and the proposers.
    expect(answers(a).map((m) => m.type)).to.deep.equal(['accepted', 'accepted', 'nack', 'accepted', 'accepted']);
    const held = a.snapshot().accepted.find((e) => e.instance === 12)!;
    expect(epochOf(held.ballot)).to.equal(1);
  });
});

describe('Membership: learners take decisions only in the epoch of their instance', () => {
  const o = options({ acceptors: 4, initialAcceptors: [0, 1, 2] });
  const next = resolveMembership({ acceptors: [1, 2, 3] }, 4, 1);
  const vote = (l: Learner, instance: number, b: Ballot, acceptor: number) => l.handle({ type: 'accepted', ballot: b, instance, acceptor }, 0);

  /** Sessions 1 and 2 registered at instance 0; instances from 1 on carry values that count. */
  const learnerWithSessions = (): Learner => {
    const l = new Learner(0, o);
    const registrations = [1, 2].map((i) => ({ client: 0, seq: 0, value: `nonce-${String(i).padStart(10, '0')}` }));
    l.handle({ type: 'decided', entries: [{ instance: 0, batch: registrations }] }, 0);
    return l;
  };

  it('votes of the old epoch above its stop-sign are void; the new epoch counts its own members', () => {
    const l = learnerWithSessions();
    const old = inEpoch(0, 1, 0);
    l.handle({ type: 'accept', ballot: old, instance: 1, batch: [reconfigurationEntry(next)] }, 0);
    // Instance 2 chosen in epoch 0 by a leader that had not heard of the stop-sign: void.
    l.handle({ type: 'accept', ballot: old, instance: 2, batch: batchOf(value(1, 0)) }, 0);
    for (const a of [0, 1]) vote(l, 2, old, a);
    // Instance 2 in epoch 1: acceptor 0 is no member any more, 3 is.
    const fresh = inEpoch(1, 1, 0);
    l.handle({ type: 'accept', ballot: fresh, instance: 2, batch: batchOf(value(2, 0)) }, 0);
    vote(l, 2, fresh, 0);
    vote(l, 2, fresh, 1);
    expect(l.membership.epoch).to.equal(0);
    for (const a of [0, 1]) vote(l, 1, old, a); // the stop-sign is chosen and delivered
    expect(l.membership).to.deep.equal(next);
    expect(l.epochStartedAt).to.deep.equal({ instance: 2, position: 0 });
    expect(l.delivered, 'instance 2 waits for a quorum of epoch 1').to.equal(2);
    vote(l, 2, fresh, 3);
    expect(l.delivered).to.equal(3);
    expect(deliveries(l).map((d) => d.client)).to.deep.equal([2]);
  });

  it('a catch-up entry counts only with the epoch of its instance', () => {
    const l = learnerWithSessions();
    l.handle({ type: 'decided', entries: [{ instance: 1, batch: [reconfigurationEntry(next)] }, { instance: 2, batch: batchOf(value(1, 0)) }] }, 0);
    expect(l.delivered, 'an entry of epoch 0 at an instance of epoch 1 is void').to.equal(2);
    l.handle({ type: 'decided', entries: [{ instance: 2, batch: batchOf(value(2, 0)), epoch: 1 }] }, 0);
    expect(l.delivered).to.equal(3);
    expect(deliveries(l).map((d) => d.client)).to.deep.equal([2]);
    expect(l.snapshot().membership, 'snapshots carry the membership').to.deep.equal(next);
  });

  it('barriers confirmed in an epoch that ended are never answered', () => {
    const outbox = new Outbox();
    const barriers = new ReadBarriers(o, outbox, { barrierRounds: 0, barriersPassed: 0 });
    const b = inEpoch(0, 1, 0);
    barriers.request(['t-0123456789abcdef'], b, 2, 0);
    for (const acceptor of [0, 1]) barriers.onConfirmed({ type: 'confirmed', ballot: b, acceptor, round: 1, promised: b }, b, 2, 0);
    barriers.enterEpoch(next);
    barriers.answerDelivered(5, 9);
    expect(outbox.take().filter((x) => x.message.type === 'barrierPassed')).to.deep.equal([]);
  });
});

describe('Membership change in a running cluster', () => {
  function cluster(extra: Parameters<typeof options>[0] = {}) {
    const o = options({ proposers: 1, acceptors: 4, initialAcceptors: [0, 1, 2], ...extra });
    const net = new MiniNet();
    for (const i of [0, 1, 2, 3]) net.add(new Acceptor(i, o));
    const learner = net.add(new Learner(0, o)) as Learner;
    const proposer = net.add(new Proposer(0, o, { incarnation: 1, random: () => 0.5 })) as Proposer;
    const client = net.add(new Client(0, o, { nonce })) as Client;
    net.run(500);
    const accepts: { instance: number; epoch: number }[] = [];
    net.drop = (e) => {
      if (e.message.type === 'accept' && e.to.group === 'acceptors') accepts.push({ instance: e.message.instance, epoch: epochOf(e.message.ballot) });
      return false;
    };
    const submit = (prefix: string, n: number): void => {
      for (let i = 0; i < n; i++) net.act(client, (c, now) => c.submit(`${prefix}-${i}`, now));
      net.run(300);
    };
    const values = (): string[] => (net.delivered.get(learner) ?? []).map((d) => d.value as string);
    return { o, net, learner, proposer, client, submit, values, accepts };
  }

  it('replaces a crashed acceptor by a spare: the new one counts in quorums, the old one no longer matters', () => {
    const { net, learner, proposer, submit, values, accepts } = cluster();
    submit('a', 5);
    net.down('acceptors', 2);
    submit('b', 5);
    expect(values()).to.have.length(10);
    net.act(proposer, (p) => p.requestReconfiguration({ acceptors: [0, 1, 3] }));
    // Values submitted while the stop-sign is in flight wait for the new epoch, at the leader.
    submit('c', 5);
    expect(proposer.learner.membership.epoch).to.equal(1);
    expect(learner.membership.acceptors).to.equal(0b1011);
    const start = learner.epochStartedAt.instance;
    expect(accepts.filter((a) => a.epoch === 0 && a.instance >= start), 'nothing proposed above the stop-sign in epoch 0').to.deep.equal([]);
    // Without the change, {1, 3} could decide nothing (3 was no member, 2 is down).
    net.down('acceptors', 0);
    submit('d', 5);
    expect(values()).to.deep.equal([...'abcd'].flatMap((p) => Array.from({ length: 5 }, (_, i) => `${p}-${i}`)));
    expect(proposer.counters()['learner.epochsEntered']).to.equal(1);
  });

  it('a resent or stale request changes nothing', () => {
    const { net, proposer, submit, values } = cluster();
    submit('a', 3);
    net.act(proposer, (p) => p.requestReconfiguration({ acceptors: [0, 1, 3] }));
    net.run(300);
    // The same submission again (as a lost answer would make a caller resend): an entry for epoch 1, now stale.
    net.act(proposer, (p) => p.handle({ type: 'submit', client: RECONFIGURATION_CLIENT, completedBelow: 0, values: [reconfigurationEntry(resolveMembership({ acceptors: [0, 1, 3] }, 4, 1))] }, net.now));
    submit('b', 3);
    expect(proposer.learner.membership.epoch).to.equal(1);
    expect(values()).to.have.length(6);
  });

  it('a proposer restarted without memory recovers the log epoch by epoch, and leads the newest', () => {
    const { o, net, proposer, learner, submit, values } = cluster();
    submit('a', 4);
    net.act(proposer, (p) => p.requestReconfiguration({ acceptors: [1, 2, 3] }));
    submit('b', 4);
    net.act(proposer, (p) => p.requestReconfiguration({ acceptors: [1, 3] }));
    submit('c', 4);
    expect(learner.membership.epoch).to.equal(2);
    net.down('proposers', 0);
    const reborn = net.add(new Proposer(0, o, { incarnation: 2, random: () => 0.5 })) as Proposer;
    net.run(2000);
    expect(reborn.learner.membership.epoch, 'it crossed both stop-signs').to.equal(2);
    expect(reborn.learner.position).to.equal(12);
    submit('d', 4);
    expect(values()).to.have.length(16);
    expect(new Set(values()).size, 'each value once').to.equal(16);
  });
});
