import { expect } from 'chai';
import { Acceptor, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../../lib/protocol/acceptor.js';
import { ballot, batchOf, ofType, options, value } from './harness.js';
import { outgoing, writes } from '../kit/drain.js';

describe('Acceptor', () => {
  it('P1a: accepts a proposal only if it has not promised a higher ballot', () => {
    const a = new Acceptor(0, options());
    a.handle({ type: 'prepare', ballot: ballot(2, 1), from: 0 });
    outgoing(a);
    a.handle({ type: 'accept', ballot: ballot(1, 1), instance: 0, batch: batchOf(value(1, 0)) });
    const out = outgoing(a);
    expect(ofType(out, 'accepted')).to.have.length(0);
    const [nack] = ofType(out, 'nack');
    expect(nack!.promised).to.deep.equal(ballot(2, 1));
    expect(out[0]!.to).to.deep.equal({ group: 'proposers', member: 1 });
  });

  it('answers a read barrier\'s confirm with what it has promised, changing nothing', () => {
    const a = new Acceptor(0, options(), EMPTY_ACCEPTOR_STATE, { logWrites: true });
    a.handle({ type: 'prepare', ballot: ballot(3, 1), from: 0 });
    outgoing(a);
    writes(a);
    a.handle({ type: 'confirm', ballot: ballot(2, 0), round: 7 });
    expect(outgoing(a)).to.deep.equal([{
      to: { group: 'proposers', member: 0 },
      message: { type: 'confirmed', ballot: ballot(2, 0), acceptor: 0, round: 7, promised: ballot(3, 1) },
    }]);
    expect(writes(a), 'read-only').to.deep.equal([]);
  });

  it('refuses a prepare below its promise and tells the stale proposer the higher ballot', () => {
    const a = new Acceptor(0, options());
    a.handle({ type: 'prepare', ballot: ballot(3, 0), from: 0 });
    outgoing(a);
    a.handle({ type: 'prepare', ballot: ballot(2, 1), from: 0 });
    const out = outgoing(a);
    expect(ofType(out, 'promise')).to.have.length(0);
    expect(ofType(out, 'nack')[0]!.promised).to.deep.equal(ballot(3, 0));
  });

  it('votes for an accepted value to learners and proposers, without the value', () => {
    const a = new Acceptor(2, options());
    a.handle({ type: 'accept', ballot: ballot(1, 0), instance: 7, batch: batchOf(value(1, 0)) });
    const out = outgoing(a);
    expect(out.map((o) => o.to.group).sort()).to.deep.equal(['learners', 'proposers']);
    for (const o of out) expect(o.message).to.deep.equal({ type: 'accepted', ballot: ballot(1, 0), instance: 7, acceptor: 2 });
  });

  it('P2c support: a promise reports every value accepted at or above the asked instance, with its ballot', () => {
    const a = new Acceptor(0, options());
    a.handle({ type: 'accept', ballot: ballot(1, 0), instance: 3, batch: batchOf(value(1, 3)) });
    a.handle({ type: 'accept', ballot: ballot(1, 0), instance: 9, batch: batchOf(value(1, 9)) });
    a.handle({ type: 'accept', ballot: ballot(1, 0), instance: 1, batch: batchOf(value(1, 1)) });
    outgoing(a);
    a.handle({ type: 'prepare', ballot: ballot(2, 1), from: 3 });
    const [promise] = ofType(outgoing(a), 'promise');
    expect(promise!.accepted.map((e) => e.instance)).to.deep.equal([3, 9]);
    expect(promise!.accepted[0]!.ballot).to.deep.equal(ballot(1, 0));
    expect(promise!.chunks).to.equal(1);
  });

  it('splits a large promise into chunks bounded by batchMaxBytes', () => {
    const a = new Acceptor(0, options({ batchMaxBytes: 200 }));
    for (let i = 0; i < 20; i++) a.handle({ type: 'accept', ballot: ballot(1, 0), instance: i, batch: batchOf(value(1, i, 'x'.repeat(50))) });
    outgoing(a);
    a.handle({ type: 'prepare', ballot: ballot(2, 1), from: 0 });
    const promises = ofType(outgoing(a), 'promise');
    expect(promises.length).to.be.greaterThan(1);
    expect(promises.every((p) => p.chunks === promises.length)).to.equal(true);
    expect(promises.flatMap((p) => p.accepted.map((e) => e.instance))).to.deep.equal([...Array(20).keys()]);
  });

  it('keeps its promise and accepted values across a restart from its snapshot', () => {
    const a = new Acceptor(0, options());
    a.handle({ type: 'prepare', ballot: ballot(5, 1), from: 0 });
    a.handle({ type: 'accept', ballot: ballot(5, 1), instance: 0, batch: batchOf(value(1, 0)) });
    const restarted = new Acceptor(0, options(), structuredClone(a.snapshot()));
    restarted.handle({ type: 'accept', ballot: ballot(4, 1), instance: 1, batch: batchOf(value(1, 1)) });
    expect(ofType(outgoing(restarted), 'nack')).to.have.length(1);
    restarted.handle({ type: 'prepare', ballot: ballot(6, 0), from: 0 });
    expect(ofType(outgoing(restarted), 'promise')[0]!.accepted[0]!.batch).to.deep.equal([value(1, 0)]);
  });

  it('forgets trimmed instances, reports its trim point in promises, and logs every change for storage', () => {
    const a = new Acceptor(0, options(), undefined, { logWrites: true });
    for (let i = 0; i < 4; i++) a.handle({ type: 'accept', ballot: ballot(1, 0), instance: i, batch: batchOf(value(1, i)) });
    const snapshot = { instance: 2, position: 2, nextClient: 2, clients: [{ client: 1, low: 2, above: [], active: 1 }] };
    a.handle({ type: 'trim', snapshot: { ...snapshot, part: 0, parts: 1 } });
    a.handle({ type: 'accept', ballot: ballot(1, 0), instance: 1, batch: batchOf(value(1, 1)) }); // stray retransmission
    outgoing(a);
    a.handle({ type: 'prepare', ballot: ballot(2, 1), from: 0 });
    const chunks = ofType(outgoing(a), 'promise');
    expect(chunks.flatMap((c) => c.accepted.map((e) => e.instance))).to.deep.equal([2, 3]);
    expect(chunks.map((c) => c.trimmed).filter(Boolean)).to.deep.equal([{ ...snapshot, part: 0, parts: 1 }]);
    expect(chunks.map((c) => [c.cutAt, c.chunk, c.chunks])).to.deep.equal([[2, 0, 2], [2, 1, 2]]);
    const replayed = applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, writes(a));
    expect(replayed).to.deep.equal(a.snapshot());
  });

  it('drops messages meant for other roles and counts them', () => {
    const a = new Acceptor(0, options());
    a.handle({ type: 'committed', entries: [] });
    expect(outgoing(a)).to.have.length(0);
    expect(a.metrics.dropped).to.equal(1);
  });
});
