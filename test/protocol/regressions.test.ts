/**
 * The five bugs of the safety review, each replayed as the exact scenario that showed it. Each
 * test fails on the code before its fix.
 */
import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { type Message, SESSION_EXPIRED, type SnapshotPart } from '../../lib/protocol/messages.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import { ballot, batchOf, ofType, options, value } from './harness.js';
import { MiniNet } from './mini-net.js';
import { gaps, outgoing } from '../kit/drain.js';
import { splitSnapshot } from '../../lib/protocol/snapshot-parts.js';

const alive = (acceptor: number): Message => ({ type: 'alive', acceptor, promised: ballot(0, 0, 0) });

let nonces = 0;
const nonce = (): string => `nonce-${String(++nonces).padStart(12, '0')}`;

describe('Protocol regressions (each once a real bug)', () => {
  it('liveness: a part of a newer trim snapshot whose other parts were lost does not shut out an older one that arrives whole', () => {
    // Found by the simulator (seed 609608 of 20,000, with leadership transfers): an old leader's
    // `trimmed` answer below 45 lost one of its two parts; the new leader had trimmed only below 31
    // and answered every catch-up with that. The assembler kept waiting for the newer one forever.
    const sessions = Array.from({ length: 40 }, (_, i) => ({ client: i + 1, low: 5, above: [], active: 9 }));
    const newer = splitSnapshot({ instance: 45, position: 40, nextClient: 41, clients: sessions }, 600);
    const older = splitSnapshot({ instance: 31, position: 28, nextClient: 41, clients: sessions }, 600);
    expect(newer.length).to.be.greaterThan(1);
    const l = new Learner(0, options({ trimAfterLearners: 1 }));
    l.handle({ type: 'trimmed', snapshot: newer[0]! }, 0);
    for (const part of older) l.handle({ type: 'trimmed', snapshot: part }, 1);
    expect(gaps(l)).to.deep.equal([{ fromInstance: 0, toInstance: 31, fromPosition: 0, toPosition: 28 }]);
    for (const part of newer.slice(1)) l.handle({ type: 'trimmed', snapshot: part }, 2);
    expect(gaps(l), 'the newer one still completes later').to.deep.equal([{ fromInstance: 31, toInstance: 45, fromPosition: 28, toPosition: 40 }]);
  });

  it('agreement: promise chunks of two answers, cut at different trim points, are never combined', () => {
    // Three acceptors; instances 0–6 were chosen under the old leader's ballot by A0 + A2.
    const o = options({ proposers: 2, acceptors: 3, batchMaxBytes: 200, trimAfterLearners: 1 });
    const a0 = new Acceptor(0, o);
    const old = ballot(1, 0);
    const batches = Array.from({ length: 7 }, (_, i) => batchOf(value(1, i, `v${i}-xxxxxx`)));
    batches.forEach((batch, instance) => a0.handle({ type: 'accept', ballot: old, instance, batch }));
    outgoing(a0);

    // A proposer restarts and prepares. A0 answers [0 1 2] [3 4 5] [6]; all but the first chunk are lost.
    const p = new Proposer(1, o, { incarnation: 9, random: () => 0.5 });
    p.tick(0);
    for (const a of [0, 1, 2]) p.handle(alive(a), 10);
    p.tick(20);
    outgoing(p);
    p.tick(40);
    const [prepare] = ofType(outgoing(p), 'prepare');
    a0.handle(prepare!);
    const first = ofType(outgoing(a0), 'promise');
    expect(first.map((c) => c.accepted.map((e) => e.instance))).to.deep.equal([[0, 1, 2], [3, 4, 5], [6]]);

    // A trim at 1 from the old leader reaches A0; the retransmitted prepare gets [1 2 3] [4 5 6] + snapshot.
    const snapshot: SnapshotPart = {
      instance: 1, position: 1, nextClient: 2, clients: [{ client: 1, low: 1, above: [], active: 0 }], part: 0, parts: 1,
    };
    a0.handle({ type: 'trim', snapshot });
    a0.handle(prepare!);
    const second = ofType(outgoing(a0), 'promise');
    expect(second.map((c) => c.accepted.map((e) => e.instance))).to.deep.equal([[1, 2, 3], [4, 5, 6], []]);
    expect(second.length).to.equal(first.length); // the same chunk count: only the answer id tells them apart

    // The first chunk of the second answer is lost. A1 (which accepted nothing) answers in full.
    p.handle(first[0]!, 50);
    for (const chunk of second.slice(1)) p.handle(chunk, 50);
    const a1 = new Acceptor(1, o);
    a1.handle(prepare!);
    for (const m of outgoing(a1)) p.handle(m.message, 50);
    // {0 1 2} + {4 5 6} looks complete by count; taking it would fill instance 3 with a no-op.
    expect(p.isLeader).to.equal(false);

    p.handle(second[0]!, 60);
    expect(p.isLeader).to.equal(true);
    const accepts = ofType(outgoing(p).filter((out) => out.to.group === 'acceptors'), 'accept');
    expect(accepts.map((a) => [a.instance, a.batch])).to.deep.equal([1, 2, 3, 4, 5, 6].map((i) => [i, batches[i]]));
  });

  it('liveness: a leader whose phase-1 quorum holds no trimmed acceptor moves past the trim point', () => {
    // Flexible quorums 2 and 4 of 5. The old leader P1 orders values with A4 down; the trim
    // reaches A0–A2 but not A3.
    const o = options({ proposers: 2, acceptors: 5, phase1Quorum: 2, phase2Quorum: 4, trimAfterLearners: 1, trimKeepInstances: 2, batchMaxValues: 1 });
    const net = new MiniNet();
    const acceptors = [0, 1, 2, 3, 4].map((i) => new Acceptor(i, o));
    for (const a of acceptors) net.add(a);
    const learner = net.add(new Learner(0, o)) as Learner;
    const client = net.add(new Client(0, o, { nonce })) as Client;
    const p1 = net.add(new Proposer(1, o, { incarnation: 1, random: () => 0.5 })) as Proposer;
    net.down('acceptors', 4);
    net.drop = (e) => e.message.type === 'trim' && e.to === acceptors[3];
    net.run(300);
    for (let i = 0; i < 20; i++) net.act(client, (c, now) => c.submit(`before-${i}`, now));
    net.run(2000);
    expect(net.delivered.get(learner)?.length).to.equal(20);
    expect(acceptors[0]!.snapshot().trimmed?.instance).to.be.greaterThan(5);
    expect(acceptors[3]!.snapshot().trimmed).to.equal(undefined);

    // P1 dies; a fresh P0 takes over with A4 back. Its phase-1 quorum is {A3, A4}: no trimmed acceptor.
    net.down('proposers', 1);
    net.add(acceptors[4]!);
    const p0 = net.add(new Proposer(0, o, { incarnation: 2, random: () => 0.5 })) as Proposer;
    net.drop = (e) => e.message.type === 'promise' && e.from !== acceptors[3] && e.from !== acceptors[4];
    net.run(1000);
    expect(p0.isLeader).to.equal(true);
    net.drop = () => false;
    // It re-proposed instances A0–A2 have trimmed; they answer with the snapshot and it moves on.
    for (let i = 0; i < 5; i++) net.act(client, (c, now) => c.submit(`after-${i}`, now));
    net.run(3000);
    expect(net.delivered.get(learner)!.map((d) => d.value).slice(20)).to.deep.equal([0, 1, 2, 3, 4].map((i) => `after-${i}`));
    expect(client.pendingCount).to.equal(0);
    expect(p1.isLeader).to.equal(true); // (it was simply cut off: it never heard it was deposed)
  });

  it('exactly-once: a restarted client gets a session key never issued before, by construction', () => {
    const o = options({ proposers: 1, acceptors: 3 });
    const net = new MiniNet();
    for (const i of [0, 1, 2]) net.add(new Acceptor(i, o));
    const learner = net.add(new Learner(0, o)) as Learner;
    net.add(new Proposer(0, o, { incarnation: 1, random: () => 0.5 }));
    const keys: number[] = [];
    // Restart one client id many times, each life submitting one value: every life gets a key
    // of its own (the log's registration count), and every value is delivered, none acknowledged
    // with an earlier life's position. (The nonce only tells concurrent registrations apart.)
    for (let life = 0; life < 50; life++) {
      const c = net.add(new Client(0, o, { nonce })) as Client;
      net.act(c, (client, now) => client.submit(`life-${life}`, now));
      net.run(1000);
      expect(c.pendingCount, `life ${life}`).to.equal(0);
      keys.push(c.session!);
    }
    expect(keys).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(net.delivered.get(learner)!.map((d) => d.value)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `life-${i}`));
  });

  it('bounded state: a value of a retired session is refused with SESSION_EXPIRED and never delivered twice', () => {
    const o = options({ proposers: 1, acceptors: 3, sessionIdleInstances: 64, batchMaxValues: 1 });
    const net = new MiniNet();
    for (const i of [0, 1, 2]) net.add(new Acceptor(i, o));
    const learner = net.add(new Learner(0, o)) as Learner;
    const leader = net.add(new Proposer(0, o, { incarnation: 1, random: () => 0.5 })) as Proposer;
    const quiet = net.add(new Client(0, o, { nonce })) as Client;
    const busy = net.add(new Client(1, o, { nonce })) as Client;
    net.run(1000);
    expect(quiet.session).to.not.equal(undefined);
    // The quiet client's value is decided, but every answer to it is lost.
    net.drop = (e) => e.to === quiet && e.message.type === 'committed';
    net.act(quiet, (c, now) => c.submit('once', now));
    net.run(50);
    expect(net.delivered.get(learner)!.map((d) => d.value)).to.deep.equal(['once']);
    // The busy client orders 300 instances meanwhile: the quiet session idles past the window.
    for (let i = 0; i < 300; i++) net.act(busy, (c, now) => c.submit(`busy-${i}`, now));
    net.run(3000);
    net.drop = () => false;
    net.run(5000); // the quiet client resends 'once'; its session is gone
    expect(net.completed.get(quiet)).to.deep.equal([{ seq: 0, position: SESSION_EXPIRED }]);
    const values = net.delivered.get(learner)!.map((d) => d.value);
    expect(values.filter((v) => v === 'once')).to.have.length(1);
    expect(leader.learner.snapshot().clients.length).to.be.at.most(2);
    // The client carries on in a new session.
    net.act(quiet, (c, now) => c.submit('again', now));
    net.run(500);
    expect(net.delivered.get(learner)!.at(-1)!.value).to.equal('again');
    expect(quiet.pendingCount).to.equal(0);
  });

  describe('election', () => {
    it('a client backs off unless the acks are its own (covered in core.test.ts), and a deposed higher id does not unseat the leader', () => {
      const o = options({ proposers: 2, acceptors: 3 });
      const p0 = new Proposer(0, o, { incarnation: 1, random: () => 0.5 });
      for (let t = 0; t <= 200; t += 10) {
        for (const a of [0, 1, 2]) p0.handle(alive(a), t);
        p0.tick(t);
      }
      const [prepare] = ofType(outgoing(p0), 'prepare');
      expect(prepare!.ballot.round).to.equal(1);
      // P0 leads at round 5 (it was nacked up to there) after P1 led at round 4 and was cut off.
      p0.handle({ type: 'nack', ballot: prepare!.ballot, promised: ballot(4, 1), acceptor: 0 }, 210);
      for (let t = 220; t < 700; t += 20) {
        for (const a of [0, 1, 2]) p0.handle(alive(a), t);
        p0.tick(t);
      }
      const [again] = ofType(outgoing(p0), 'prepare');
      expect(again!.ballot.round).to.equal(5);
      for (const a of [0, 1]) p0.handle({ type: 'promise', ballot: again!.ballot, acceptor: a, from: 0, cutAt: 0, chunk: 0, chunks: 1, accepted: [] }, 700);
      expect(p0.isLeader).to.equal(true);
      // The partition heals: P1 still believes it leads (round 4) and says so, 2a and heartbeats.
      for (let t = 710; t < 1500; t += 10) {
        p0.handle({ type: 'heartbeat', from: 1, ballot: ballot(4, 1), leading: true, decided: 0, quorum: true }, t);
        p0.handle({ type: 'accept', ballot: ballot(4, 1), instance: 3, batch: [] }, t);
        for (const a of [0, 1, 2]) p0.handle(alive(a), t);
        p0.tick(t);
      }
      expect(p0.isLeader).to.equal(true);
      expect(p0.metrics.elections).to.equal(2);
    });

    it('CheckQuorum: a highest id that reaches the proposers but no acceptor quorum does not hold the others back', () => {
      const o = options({ proposers: 2, acceptors: 3 });
      const p0 = new Proposer(0, o, { incarnation: 1, random: () => 0.5 });
      for (let t = 0; t < 1000; t += 10) {
        // P1 heartbeats all along, but hears no acceptor: it says it cannot lead.
        p0.handle({ type: 'heartbeat', from: 1, ballot: ballot(0, 0, 0), leading: false, decided: 0, quorum: false }, t);
        for (const a of [0, 1, 2]) p0.handle(alive(a), t);
        p0.tick(t);
      }
      expect(ofType(outgoing(p0), 'prepare').length).to.be.greaterThan(0);
    });

    it('CheckQuorum: a leader that no longer hears a phase-2 quorum steps down and says it cannot lead', () => {
      const o = options({ proposers: 2, acceptors: 3 });
      const p1 = new Proposer(1, o, { incarnation: 1, random: () => 0.5 });
      p1.tick(0);
      for (const a of [0, 1, 2]) p1.handle(alive(a), 20);
      p1.tick(40);
      const [prepare] = ofType(outgoing(p1), 'prepare');
      for (const a of [0, 1]) p1.handle({ type: 'promise', ballot: prepare!.ballot, acceptor: a, from: 0, cutAt: 0, chunk: 0, chunks: 1, accepted: [] }, 50);
      expect(p1.isLeader).to.equal(true);
      // Only acceptor 0 keeps answering.
      for (let t = 60; t < 600; t += 10) {
        p1.handle(alive(0), t);
        p1.tick(t);
      }
      expect(p1.isLeader).to.equal(false);
      expect(p1.metrics.quorumLost).to.equal(1);
      const beats = ofType(outgoing(p1), 'heartbeat');
      expect(beats.at(-1)).to.include({ leading: false, quorum: false });
    });
  });
});
