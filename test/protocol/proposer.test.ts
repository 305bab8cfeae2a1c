import { expect } from 'chai';
import { compareBallots, proposerOf } from '../../lib/protocol/ballot.js';
import type { Ballot } from '../../lib/protocol/ballot.js';
import type { Outgoing } from '../../lib/protocol/messages.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import { ballot, batchOf, ofType, options, value } from './harness.js';
import { outgoing } from '../kit/drain.js';

function proposer(id = 1, extra = {}, incarnation = 1): Proposer {
  return new Proposer(id, options(extra), { incarnation, random: () => 0.5 });
}

/** The acceptors answer `p`'s heartbeats: it hears enough of them to lead (CheckQuorum). */
function hearAcceptors(p: Proposer, now: number, acceptors = [0, 1, 2]): void {
  for (const a of acceptors) p.handle({ type: 'alive', acceptor: a, promised: ballot(0, 0, 0) }, now);
}

/** Runs phase 1 for `p` with promises from acceptors 0 and 1 carrying `accepted`. */
function elect(p: Proposer, now = 0, accepted: Parameters<typeof promise>[2] = []): Outgoing[] {
  p.tick(now - 100); // start-up: listen for a live leader first
  hearAcceptors(p, now);
  p.tick(now);
  const [prepare] = ofType(outgoing(p), 'prepare');
  p.handle(promise(prepare!.ballot, 0, accepted), now);
  p.handle(promise(prepare!.ballot, 1, []), now);
  return outgoing(p);
}

/**
 * Opens client sessions 1..count through the log (a registration is ordered like a value, here
 * at instance `at`), so that their values count; returns the 'registered' answers.
 */
function openSessions(p: Proposer, count: number, at = 0, now = 0): Outgoing[] {
  const values = Array.from({ length: count }, (_, i) => ({ client: 0, seq: 0, value: `nonce-${String(i).padStart(10, '0')}` }));
  p.handle({ type: 'submit', client: 0, completedBelow: 0, values }, now);
  const [accept] = ofType(outgoing(p), 'accept');
  expect(accept!.instance).to.equal(at);
  decide(p, at, accept!.ballot, now);
  return outgoing(p);
}

function promise(b: Ballot, acceptor: number, accepted: { instance: number; ballot: Ballot; batch: ReturnType<typeof batchOf> }[]) {
  return { type: 'promise' as const, ballot: b, acceptor, from: 0, cutAt: 0, chunk: 0, chunks: 1, accepted };
}

function decide(p: Proposer, instance: number, b: Ballot, now = 0): void {
  p.handle({ type: 'accepted', ballot: b, instance, acceptor: 0 }, now);
  p.handle({ type: 'accepted', ballot: b, instance, acceptor: 1 }, now);
}

describe('Proposer', () => {
  it('the highest id campaigns after listening for two heartbeats: one prepare for all instances from its first undecided one', () => {
    const p = proposer(1);
    p.tick(0);
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0);
    hearAcceptors(p, 20);
    p.tick(40);
    const [prepare] = ofType(outgoing(p), 'prepare');
    expect(prepare).to.deep.include({ from: 0 });
    expect(proposerOf(prepare!.ballot)).to.equal(1);
    expect(prepare!.ballot.round).to.equal(1);
  });

  it('a live leader is not disrupted by a proposer that rejoins with a higher id', () => {
    const rejoining = proposer(1);
    rejoining.tick(0);
    rejoining.handle({ type: 'heartbeat', from: 0, ballot: ballot(3, 0), leading: true, decided: 0, quorum: true }, 20);
    rejoining.tick(40);
    rejoining.tick(150);
    expect(ofType(outgoing(rejoining), 'prepare')).to.have.length(0);
    rejoining.tick(400); // the leader went silent (a tick after a long gap only counts as a stall)
    hearAcceptors(rejoining, 400);
    rejoining.tick(401);
    expect(ofType(outgoing(rejoining), 'prepare')[0]!.ballot.round).to.equal(4);
  });

  it('a tick after a stall of its own does not declare the leader dead before reading the queued heartbeats', () => {
    const p = proposer(0);
    p.tick(0);
    p.handle({ type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 0, quorum: true }, 10);
    p.tick(500); // our event loop was blocked for 490 ms
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0);
    p.handle({ type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 0, quorum: true }, 501);
    p.tick(505);
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0);
  });

  it('a lower id waits to hear from higher ids, and defers to a live one', () => {
    const p = proposer(0);
    p.tick(0);
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0);
    p.handle({ type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 0, quorum: true }, 150);
    p.tick(250);
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0);
    p.tick(350);
    hearAcceptors(p, 390);
    p.tick(400); // leader silent for longer than leaderTimeoutMs
    expect(ofType(outgoing(p), 'prepare')).to.have.length(1);
  });

  it('P2c: re-proposes the highest-ballot value reported in 1b and fills holes with no-ops', () => {
    const p = proposer(1);
    const out = elect(p, 0, [
      { instance: 0, ballot: ballot(1, 0, 7), batch: batchOf(value(9, 0, 'low')) },
      { instance: 0, ballot: ballot(3, 0, 7), batch: batchOf(value(9, 0, 'high')) },
      { instance: 2, ballot: ballot(1, 0, 7), batch: batchOf(value(9, 1)) },
    ]);
    const accepts = ofType(out.filter((o) => o.to.group === 'acceptors'), 'accept');
    expect(accepts.map((a) => [a.instance, a.batch.map((s) => s.value)])).to.deep.equal([[0, ['high']], [1, []], [2, ['v9.1']]]);
    expect(accepts.every((a) => compareBallots(a.ballot, ballot(3, 0, 7)) < 0 || a.ballot.round === 1)).to.equal(true);
    expect(p.isLeader).to.equal(true);
  });

  it('a leader cuts a batch as soon as the window has room (no batching delay) and sends 2a to acceptors, learners and proposers', () => {
    const p = proposer(1);
    elect(p);
    p.handle({ type: 'submit', client: 1, completedBelow: 0, values: [value(1, 0), value(1, 1)] }, 1);
    const out = outgoing(p);
    expect(out.filter((o) => o.message.type === 'accept').map((o) => o.to.group).sort()).to.deep.equal(['acceptors', 'learners', 'proposers']);
    expect(ofType(out, 'accept')[0]!.batch).to.have.length(2);
  });

  it('keeps at most `window` instances in flight and proposes more as they are decided', () => {
    const p = proposer(1, { window: 2, batchMaxValues: 1 });
    elect(p);
    openSessions(p, 1);
    p.handle({ type: 'submit', client: 1, completedBelow: 0, values: [0, 1, 2, 3, 4].map((s) => value(1, s)) }, 1);
    const first = ofType(outgoing(p).filter((o) => o.to.group === 'acceptors'), 'accept');
    expect(first.map((a) => a.instance)).to.deep.equal([1, 2]);
    decide(p, 1, first[0]!.ballot, 2);
    const out = outgoing(p);
    expect(ofType(out.filter((o) => o.to.group === 'acceptors'), 'accept').map((a) => a.instance)).to.deep.equal([3]);
    expect(ofType(out, 'committed')[0]!.entries).to.deep.equal([{ client: 1, seq: 0, position: 0 }]);
  });

  it('does not propose a retransmitted submission that is already in flight, and re-acks a delivered one', () => {
    const p = proposer(1);
    elect(p);
    openSessions(p, 1);
    const submit = { type: 'submit' as const, client: 1, completedBelow: 0, values: [value(1, 0)] };
    p.handle(submit, 1);
    const [accept] = ofType(outgoing(p), 'accept');
    p.handle(submit, 2);
    expect(ofType(outgoing(p), 'accept')).to.have.length(0);
    decide(p, 1, accept!.ballot, 3);
    outgoing(p);
    p.handle(submit, 4);
    const out = outgoing(p);
    expect(ofType(out, 'accept')).to.have.length(0);
    expect(ofType(out, 'committed')[0]!.entries).to.deep.equal([{ client: 1, seq: 0, position: 0 }]);
  });

  it('retransmits 2a that no quorum answered', () => {
    const p = proposer(1, { retransmitMs: 100 });
    elect(p);
    p.handle({ type: 'submit', client: 1, completedBelow: 0, values: [value(1, 0)] }, 0);
    outgoing(p);
    hearAcceptors(p, 50);
    p.tick(50);
    expect(ofType(outgoing(p), 'accept')).to.have.length(0);
    p.tick(120);
    expect(ofType(outgoing(p), 'accept')).to.have.length(3);
    expect(p.metrics.retransmissions).to.equal(1);
  });

  it('steps down on a nack and retries later with a ballot above the one that beat it', () => {
    const p = proposer(1);
    elect(p);
    const beaten = p.currentBallot;
    p.handle({ type: 'nack', ballot: beaten, promised: ballot(7, 0), acceptor: 0 }, 10);
    expect(p.isLeader).to.equal(false);
    p.tick(11);
    expect(ofType(outgoing(p), 'prepare')).to.have.length(0); // backs off first
    p.tick(1000);
    hearAcceptors(p, 1000);
    p.tick(1001);
    const [prepare] = ofType(outgoing(p), 'prepare');
    expect(prepare!.ballot.round).to.equal(8);
  });

  it('ballots are unique per incarnation: a restarted proposer never reuses one', () => {
    const before = proposer(1, {}, 1);
    const after = proposer(1, {}, 2);
    for (const p of [before, after]) {
      p.tick(0);
      hearAcceptors(p, 40);
      p.tick(50);
    }
    const [a] = ofType(outgoing(before), 'prepare');
    const [b] = ofType(outgoing(after), 'prepare');
    expect(a!.ballot.round).to.equal(b!.ballot.round);
    expect(compareBallots(a!.ballot, b!.ballot)).to.not.equal(0);
  });

  it('trims below the slowest learner (minus a margin) and answers catch-up below the trim point with the snapshot', () => {
    const p = proposer(1, { trimAfterLearners: 2, trimKeepInstances: 2, batchMaxValues: 1, proposers: 2 });
    elect(p);
    openSessions(p, 1);
    p.handle({ type: 'submit', client: 1, completedBelow: 0, values: [0, 1, 2, 3, 4, 5, 6].map((s) => value(1, s)) }, 1);
    const accepts = ofType(outgoing(p).filter((o) => o.to.group === 'acceptors'), 'accept');
    for (const a of accepts) decide(p, a.instance, a.ballot, 2);
    hearAcceptors(p, 3);
    p.handle({ type: 'progress', learner: 0, delivered: 8, stateAt: 0 }, 3);
    p.tick(4);
    expect(ofType(outgoing(p), 'trim')).to.have.length(0); // learner 1 has delivered nothing
    p.handle({ type: 'progress', learner: 1, delivered: 7, stateAt: 0 }, 5);
    p.tick(6);
    const trims = ofType(outgoing(p), 'trim');
    expect(trims).to.have.length(2); // to acceptors and proposers
    expect(trims[0]!.snapshot).to.include({ instance: 5, position: 4, nextClient: 2, part: 0, parts: 1 });
    p.handle({ type: 'catchup', requester: { group: 'learners', member: 1 }, from: 0, to: 8 }, 7);
    const out = outgoing(p);
    expect(ofType(out, 'trimmed')[0]!.snapshot.instance).to.equal(5);
    expect(ofType(out, 'decided').flatMap((d) => d.entries.map((e) => e.instance))).to.deep.equal([5, 6, 7]);
  });

  it('only the leader serves catch-up, from its decided log, in chunks', () => {
    const p = proposer(1, { batchMaxBytes: 100 });
    const follower = proposer(0);
    elect(p);
    openSessions(p, 1);
    p.handle({ type: 'submit', client: 1, completedBelow: 0, values: [0, 1, 2].map((s) => value(1, s, 'x'.repeat(40))) }, 1);
    const accepts = ofType(outgoing(p).filter((o) => o.to.group === 'acceptors'), 'accept');
    for (const a of accepts) decide(p, a.instance, a.ballot, 2);
    outgoing(p);
    const ask = { type: 'catchup' as const, requester: { group: 'learners' as const, member: 4 }, from: 0, to: 10 };
    follower.handle(ask, 3);
    expect(ofType(outgoing(follower), 'decided')).to.have.length(0);
    p.handle(ask, 3);
    const out = outgoing(p);
    expect(out.every((o) => o.to.group === 'learners' && o.to.member === 4)).to.equal(true);
    const decided = ofType(out, 'decided');
    expect(decided.length).to.be.greaterThan(1);
    expect(decided.flatMap((d) => d.entries.map((e) => e.instance))).to.deep.equal([0, ...accepts.map((a) => a.instance)]);
  });
});
