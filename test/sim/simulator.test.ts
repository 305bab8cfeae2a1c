import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, Message } from '../../lib/protocol/messages.js';
import { decodeFrame, encodeFrames } from '../../lib/transport/codec.js';
import { InvariantChecker, InvariantViolation } from '../../lib/sim/invariants.js';
import { runSeeds } from '../../lib/sim/runner.js';
import { Simulation } from '../../lib/sim/simulation.js';
import { FAULT_MIXES, type Scenario, permanentCuts, permanentlyDown, quorumsOf, scenarioFromSeed } from '../../lib/sim/scenario.js';
import { shrink } from '../../lib/sim/shrink.js';
import { type WireCodec, throughWire } from '../../lib/sim/wire.js';
import { tempDir } from '../kit/temp-dir.js';

/** CI's seed count; `SIM_SEEDS=20000 npm test` digs deeper. */
const SEEDS = Number(process.env.SIM_SEEDS ?? 2000);

const ballot = (round: number, node = 0) => ({ round, node });
const batchOf = (...values: string[]): Batch => values.map((value, seq) => ({ client: 1, seq, value }));

function caught(f: () => void): InvariantViolation {
  try {
    f();
  } catch (err) {
    if (err instanceof InvariantViolation) return err;
    throw err;
  }
  throw new Error('no violation');
}

describe('Deterministic simulator', function () {
  this.timeout(600_000);

  it(`${SEEDS} seeds of varied fault mixes keep agreement, validity, integrity and liveness`, () => {
    const summary = runSeeds({ from: 1, count: SEEDS, print: (line) => { if (/FAILED|by invariant/.test(line)) console.log(line); } });
    expect(summary.seeds).to.equal(SEEDS);
    expect(summary.failures, JSON.stringify(summary.failures.slice(0, 5))).to.deep.equal([]);
    expect(summary.delivered).to.be.greaterThan(SEEDS * 20);
  });

  it('covers every fault mix', () => {
    const mixes = new Set(Array.from({ length: 10 }, (_, i) => scenarioFromSeed(i + 1).mix));
    expect([...mixes].sort()).to.deep.equal([...FAULT_MIXES].sort());
  });

  it('draws the whole fault space within 500 seeds', () => {
    const scenarios = Array.from({ length: 500 }, (_, i) => scenarioFromSeed(i + 1));
    const acceptorCounts = new Set(scenarios.map((s) => s.shape.acceptors));
    expect([...acceptorCounts].sort()).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    for (const group of ['proposers', 'learners', 'clients'] as const) {
      const max = { proposers: 4, learners: 3, clients: 4 }[group];
      expect(new Set(scenarios.map((s) => s.shape[group])).size, group).to.equal(max);
    }
    const some = (label: string, p: (s: Scenario) => boolean, atLeast = 5) =>
      expect(scenarios.filter(p).length, label).to.be.at.least(atLeast);
    some('q1 < q2', (s) => quorumsOf(s).q1 < quorumsOf(s).q2);
    some('q1 > q2', (s) => quorumsOf(s).q1 > quorumsOf(s).q2);
    some('tiny batchMaxBytes', (s) => (s.protocol.batchMaxBytes ?? 0) <= 300);
    some('trimming', (s) => (s.protocol.trimAfterLearners ?? 0) > 0);
    some('sessions that retire (short deduplication window, few sessions)', (s) => (s.protocol.maxSessions ?? 4096) <= 3);
    some('every timing option set', (s) => ['heartbeatIntervalMs', 'leaderTimeoutMs', 'retransmitMs', 'clientRetryMs', 'catchupMs']
      .every((k) => (s.protocol as unknown as Record<string, number>)[k]! > 0), 500);
    some('leader timeout above twice the heartbeat', (s) => s.protocol.leaderTimeoutMs! > 2 * s.protocol.heartbeatIntervalMs!, 500);
    some('delays beyond the leader timeout', (s) => s.network.minDelayMs + s.network.jitterMs > s.protocol.leaderTimeoutMs!);
    some('permanent acceptor failures', (s) => permanentlyDown(s).some((n) => n.group === 'acceptors'));
    some('all proposers but one down for good', (s) => s.shape.proposers > 1 &&
      permanentlyDown(s).filter((n) => n.group === 'proposers').length === s.shape.proposers - 1);
    some('one-way links', (s) => s.faults.some((f) => f.kind === 'cut' &&
      f.links.some(([a, b]) => !f.links.some(([c, d]) => c === b && d === a ||
        (c.group === b.group && c.id === b.id && d.group === a.group && d.id === a.id)))));
    some('non-transitive cuts', (s) => s.faults.some((f) => f.kind === 'cut' && f.links.length === 2));
    some('a proposer cut from a quorum of acceptors for good', (s) => permanentCuts(s).length > 0);
    some('partitions', (s) => s.faults.some((f) => f.kind === 'partition'));
    some('short crash downtimes', (s) => s.faults.some((f) => f.kind === 'crash' && f.downMs !== null && f.downMs <= 20));
    some('acceptor crashes', (s) => s.faults.some((f) => f.kind === 'crash' && f.node.group === 'acceptors' && f.downMs !== null));
    some('stalls', (s) => s.faults.some((f) => f.kind === 'stall'));
    some('stalls beyond the leader timeout', (s) => s.faults.some((f) => f.kind === 'stall' && f.forMs > s.protocol.leaderTimeoutMs!));
    some('wire mode', (s) => s.wire, 100);
    some('drifting clocks', (s) => Object.values(s.clocks).some((c) => c.rate !== 1));
    some('read barriers, many per client', (s) => (s.barriersPerClient ?? 0) >= 50, 50);
    some('leadership transfers', (s) => (s.transfers ?? 0) >= 2, 50);
    some('a leader paused beyond the leader timeout while cut off with a client', (s) => s.faults.some((f) => f.kind === 'stall' &&
      f.node.group === 'proposers' && s.faults.some((p) => p.kind === 'partition' && p.side.length === 2 &&
        p.side.some((n) => n.group === 'clients') && p.side.some((n) => n.group === 'proposers' && n.id === f.node.id))));
    some('per-node tick periods', (s) => new Set(Object.values(s.clocks).map((c) => c.tickMs)).size > 1);
    // Membership changes: spares at the start, replacements (also of an acceptor down for good), additions, removals.
    const changes = (s: Scenario): number[][] => [[...(s.protocol.initialAcceptors ?? [])], ...(s.reconfigurations ?? []).map((r) => r.acceptors)];
    const steps = (s: Scenario, p: (before: number[], after: number[]) => boolean) =>
      changes(s).some((after, k) => k > 0 && p(changes(s)[k - 1]!, after));
    some('membership changes', (s) => (s.reconfigurations?.length ?? 0) > 0, 100);
    some('several membership changes in one run', (s) => (s.reconfigurations?.length ?? 0) >= 3, 20);
    some('a spare replaces a member', (s) => steps(s, (a, b) => a.length === b.length && a.some((x) => !b.includes(x))), 50);
    some('an acceptor is added', (s) => steps(s, (a, b) => b.length > a.length), 20);
    some('an acceptor is removed', (s) => steps(s, (a, b) => b.length < a.length), 20);
    some('an acceptor down for good is replaced', (s) => {
      const dead = permanentlyDown(s).filter((n) => n.group === 'acceptors').map((n) => n.id);
      return steps(s, (a, b) => a.some((x) => dead.includes(x) && !b.includes(x)));
    });
    some('flexible quorums in a later epoch', (s) => (s.reconfigurations ?? []).some((r) => r.phase1Quorum !== undefined), 20);
    some('two requests racing for one epoch', (s) => (s.reconfigurations ?? []).some((r) => r.rival), 10);
    some('membership changes with crashes and leader changes', (s) => (s.reconfigurations?.length ?? 0) > 0 &&
      s.faults.some((f) => f.kind === 'crash' && f.node.group === 'proposers') && (s.transfers ?? 0) > 0, 10);
    // The datagram limit holds for every batch in wire mode; permanent failures leave a quorum.
    for (const s of scenarios) {
      if (s.wire) expect(s.protocol.batchMaxBytes).to.be.at.most(65_387);
      const down = permanentlyDown(s).filter((n) => n.group === 'acceptors').length;
      const { q1, q2 } = quorumsOf(s);
      expect(s.shape.acceptors - down).to.be.at.least(Math.max(q1, q2));
      expect(permanentlyDown(s).filter((n) => n.group === 'proposers').length).to.be.below(s.shape.proposers);
      expect(s.livenessMs).to.be.at.least(20_000);
    }
  });

  it('replays a seed exactly', () => {
    const a = new Simulation(scenarioFromSeed(4242)).run();
    const b = new Simulation(scenarioFromSeed(4242)).run();
    expect(a.ok).to.equal(true);
    expect({ ...b, history: b.history.join('\n') }).to.deep.equal({ ...a, history: a.history.join('\n') });
  });

  it('`npm run sim -- --seed N` prints the scenario and the outcome', () => {
    const out = execFileSync(process.execPath, ['dist/lib/sim/cli.js', '--seed', '7'], { encoding: 'utf8' });
    expect(out).to.match(/^seed 7 \(/);
    expect(out).to.match(/ok: \d+ values delivered/);
  });

  it('`--save` writes a scenario that `--scenario FILE` replays identically', () => {
    const { path: dir, remove } = tempDir('sim-');
    try {
      const file = join(dir, 's.json');
      const a = execFileSync(process.execPath, ['dist/lib/sim/cli.js', '--seed', '9', '--save', file], { encoding: 'utf8' });
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Scenario;
      expect(saved).to.deep.equal(JSON.parse(JSON.stringify(scenarioFromSeed(9))));
      const b = execFileSync(process.execPath, ['dist/lib/sim/cli.js', '--scenario', file], { encoding: 'utf8' });
      expect(b).to.equal(a);
    } finally {
      remove();
    }
  });

  it('has teeth: every planted bug (44, across every role and the host) is caught within 3,000 seeds', () => {
    const out = execFileSync(process.execPath, ['scripts/planted-bugs.mjs', '--seeds', '3000'], { encoding: 'utf8' });
    console.log(out.split('\n').map((l) => `      ${l}`).join('\n'));
    const caughtLines = out.split('\n').filter((l) => l.startsWith('caught'));
    expect(out, out).to.match(/planted bugs: \d+ caught, 0 survived/);
    expect(caughtLines.length).to.be.at.least(44);
  });
});

describe('Simulator wire mode', () => {
  const from = { group: 'proposers' as const, id: 0 };
  const to = { group: 'acceptors' as const };
  const accept: Message = { type: 'accept', ballot: ballot(3, 2 ** 32 + 5), instance: 7, batch: [
    { client: 1, seq: 0, value: 'x' }, { client: 1, seq: 1, value: Uint8Array.from([1, 2, 3]) },
  ] };

  it('passes a message that round-trips, as decoded copies', () => {
    const out = throughWire(to, from, accept);
    expect(out).to.have.length(1);
    expect(out[0]).to.not.equal(accept);
    expect(out[0]).to.deep.include({ type: 'accept', instance: 7 });
  });

  it('rejoins a message the codec splits (generically, by concatenating list fields)', () => {
    const values = Array.from({ length: 40 }, (_, seq) => ({ client: 1, seq, value: new Uint8Array(2000).fill(seq) }));
    const submit: Message = { type: 'submit', client: 1, completedBelow: 0, values };
    expect(throughWire({ group: 'proposers' }, { group: 'clients', id: 0 }, submit).length).to.be.greaterThan(1);
  });

  it('a message that does not round-trip is a wire violation', () => {
    const corrupting: WireCodec = {
      encode: (t, f, ms) => encodeFrames(t, f, ms),
      decode: (bytes) => {
        const r = decodeFrame(bytes);
        if (!r.ok) return r;
        const m = r.frame.messages[0] as { batch?: { value: unknown }[] };
        if (m.batch?.[1]) m.batch[1] = { ...m.batch[1], value: Uint8Array.from([1, 2, 4]) };
        return r;
      },
    };
    const v = caught(() => throughWire(to, from, accept, corrupting));
    expect(v.invariant).to.equal('wire');
    expect(v.message).to.match(/accept .*does not round-trip: accept\.batch\[1\]\.value\[2\]: 3 vs 4/);
  });

  it('a message too large for one datagram is a wire violation naming its type and size', () => {
    const huge: Message = { type: 'accept', ballot: ballot(1), instance: 0, batch: [{ client: 1, seq: 0, value: new Uint8Array(70_000) }] };
    const v = caught(() => throughWire(to, from, huge));
    expect(v.invariant).to.equal('wire');
    expect(v.message).to.match(/accept .*does not fit one datagram \(~\d+ bytes/);
  });

  it('a simulation in wire mode runs every message through the codec hook', () => {
    const s = { ...scenarioFromSeed(3), wire: true };
    let frames = 0;
    const counting: WireCodec = { encode: (t, f, ms) => encodeFrames(t, f, ms), decode: (b) => { frames++; return decodeFrame(b); } };
    expect(new Simulation(s, { codec: counting }).run().ok).to.equal(true);
    expect(frames).to.be.greaterThan(100);
    const dropping: WireCodec = { encode: (t, f, ms) => encodeFrames(t, f, ms), decode: () => ({ ok: false, reason: 'malformed', detail: 'test' }) };
    expect(new Simulation(s, { codec: dropping }).run().violation?.invariant).to.equal('wire');
  });
});

/** Epoch 0 of three acceptors, with phase-2 quorum `q2`. */
const threeAcceptors = (q2: number) => ({ epoch: 0, acceptors: 0b111, phase1Quorum: 4 - q2, phase2Quorum: q2 });

describe('Simulator invariants bite', () => {
  it('an acceptor answering below a ballot it promised before (in any incarnation)', () => {
    const c = new InvariantChecker({ membership: threeAcceptors(2) });
    c.acceptorSent('acceptors/0', 'promised', ballot(5));
    c.acceptorSent('acceptors/0', 'accepted', ballot(5));
    c.acceptorSent('acceptors/1', 'promised', ballot(2));
    expect(caught(() => c.acceptorSent('acceptors/0', 'promised', ballot(4))).invariant).to.equal('acceptor-monotonic');
  });

  it('an acceptor persisting a ballot below one already on its disk', () => {
    const c = new InvariantChecker();
    c.acceptorSynced('acceptors/0', 'promise', ballot(5));
    expect(caught(() => c.acceptorSynced('acceptors/0', 'accept', ballot(3))).invariant).to.equal('acceptor-monotonic');
  });

  it('two different batches chosen at one instance', () => {
    const c = new InvariantChecker({ membership: threeAcceptors(2) });
    c.accepting(0, ballot(1), batchOf('a'));
    c.vote(0, ballot(1), 0);
    c.vote(0, ballot(1), 1);
    c.accepting(0, ballot(2), batchOf('a')); // the same content again: fine
    c.vote(0, ballot(2), 1);
    c.vote(0, ballot(2), 2);
    c.accepting(0, ballot(3), batchOf('b'));
    c.vote(0, ballot(3), 0);
    const v = caught(() => c.vote(0, ballot(3), 2));
    expect(v.invariant).to.equal('chosen');
  });

  it('one ballot carrying two batches at one instance', () => {
    const c = new InvariantChecker({ membership: threeAcceptors(2) });
    c.accepting(0, ballot(1), batchOf('a'));
    expect(caught(() => c.accepting(0, ballot(1), batchOf('b'))).invariant).to.equal('ballot-unique');
  });

  it("a proposer's learner deciding what was not chosen", () => {
    const c = new InvariantChecker({ membership: threeAcceptors(1) });
    c.accepting(0, ballot(1), batchOf('a'));
    c.vote(0, ballot(1), 0);
    c.decided('proposers/0#1', 0, batchOf('a'));
    expect(caught(() => c.decided('proposers/0#1', 0, batchOf('b'))).invariant).to.equal('agreement');
    expect(caught(() => c.decided('proposers/0#1', 1, batchOf('a'))).invariant).to.equal('agreement');
  });

  it('a learner delivering a value from an instance where it was not chosen', () => {
    const c = new InvariantChecker({ membership: threeAcceptors(1) });
    c.submit(1, 0, 'a');
    c.submit(1, 1, 'b');
    c.accepting(0, ballot(1), batchOf('a'));
    c.vote(0, ballot(1), 0);
    const v = caught(() => c.deliver('learners/0#1', { position: 0, instance: 1, client: 1, seq: 0, value: 'a' }));
    expect(v.invariant).to.equal('agreement');
  });

  it('a value a client was told is committed that no learner delivers', () => {
    const c = new InvariantChecker();
    c.submit(1, 0, 'a');
    c.complete(1, 0, 0);
    expect(c.committedButUndelivered()).to.deep.equal(['1:0']);
  });

  it('two submissions with one identity (a reused client incarnation key)', () => {
    const c = new InvariantChecker();
    c.submit(1, 0, 'a');
    expect(caught(() => c.submit(1, 0, 'b')).invariant).to.equal('identity');
  });
});

describe('Simulator shrinking', function () {
  this.timeout(120_000);

  it('reduces a scenario to the faults a synthetic failure needs', () => {
    const s = scenarioFromSeed(4); // chaos: many faults
    expect(s.faults.length).to.be.greaterThan(5);
    const target = s.faults.find((f) => f.kind === 'crash')!;
    const fails = (x: Scenario) => x.faults.some((f) => f.kind === 'crash' && f.at === target.at) && x.valuesPerClient >= 3
      ? new InvariantViolation('planted', 'the crash is there') : undefined;
    const r = shrink(s, { fails })!;
    expect(r.scenario.faults).to.have.length(1);
    expect(r.scenario.faults[0]!.at).to.equal(target.at);
    expect(r.scenario.valuesPerClient).to.equal(3);
    expect(r.scenario.network.loss).to.equal(0);
    expect(r.violation.invariant).to.equal('planted');
  });

  it('reduces a real failing run (a codec that breaks committed messages) and keeps it failing', () => {
    const s = { ...scenarioFromSeed(9), wire: true }; // a passing chaos seed with faults
    const breaking: WireCodec = {
      encode: (t, f, ms) => encodeFrames(t, f, ms),
      decode: (b) => {
        const r = decodeFrame(b);
        return r.ok && r.frame.messages[0]!.type === 'committed' ? { ok: false, reason: 'malformed', detail: 'planted' } : r;
      },
    };
    const run = (x: Scenario) => new Simulation(x, { codec: breaking }).run().violation;
    expect(run(s)?.invariant).to.equal('wire');
    const r = shrink(s, { fails: (x) => (run(x)?.invariant === 'wire' ? run(x) : undefined), maxRuns: 150 })!;
    expect(r.scenario.faults.length).to.be.lessThan(s.faults.length);
    expect(r.scenario.valuesPerClient).to.equal(1);
    expect(run(r.scenario)?.invariant).to.equal('wire');
  });

  it('passes a passing scenario through untouched', () => {
    expect(shrink(scenarioFromSeed(4242))).to.equal(undefined);
  });
});
