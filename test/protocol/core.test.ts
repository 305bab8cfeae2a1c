import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, ValueTooLargeError } from '../../lib/protocol/client.js';
import { isMessage } from '../../lib/protocol/messages.js';
import { ConfigurationError, resolveOptions } from '../../lib/protocol/options.js';
import { ballot, ofType, options } from './harness.js';
import { completions, outgoing } from '../kit/drain.js';

const protocolDir = fileURLToPath(new URL('../../../lib/protocol/', import.meta.url));

describe('Protocol core', () => {
  it('is sans-IO: no module imports Node, timers, clocks, randomness or workers', () => {
    const forbidden = [/from ['"]node:/, /from ['"](fs|net|dgram|worker_threads|os|crypto)['"]/, /Date\.now/, /Math\.random/,
      /setTimeout|setInterval|setImmediate|queueMicrotask/, /performance\./, /process\./, /new Date\(/];
    const files = readdirSync(protocolDir).filter((f) => f.endsWith('.ts'));
    expect(files.length).to.be.greaterThan(5);
    for (const file of files) {
      const source = readFileSync(protocolDir + file, 'utf8');
      for (const pattern of forbidden) expect(pattern.test(source), `${file} matches ${pattern}`).to.equal(false);
    }
  });

  describe('options', () => {
    it('derive majority quorums from the acceptor count', () => {
      expect(resolveOptions({ proposers: 1, acceptors: 5 })).to.include({ phase1Quorum: 3, phase2Quorum: 3 });
      expect(resolveOptions({ proposers: 1, acceptors: 4 })).to.include({ phase1Quorum: 3, phase2Quorum: 3 });
    });

    it('accept flexible quorums only when phase-1 and phase-2 quorums intersect', () => {
      expect(resolveOptions({ proposers: 1, acceptors: 4, phase1Quorum: 3, phase2Quorum: 2 })).to.include({ phase2Quorum: 2 });
      expect(() => resolveOptions({ proposers: 1, acceptors: 4, phase1Quorum: 2, phase2Quorum: 2 })).to.throw(ConfigurationError, /must exceed/);
    });

    it('reject impossible values with a clear error', () => {
      expect(() => resolveOptions({ proposers: 0, acceptors: 3 })).to.throw(ConfigurationError, /proposers/);
      expect(() => resolveOptions({ proposers: 1, acceptors: 40 })).to.throw(ConfigurationError, /acceptors/);
      expect(() => resolveOptions({ proposers: 1, acceptors: 3, window: 1.5 })).to.throw(ConfigurationError, /window/);
      expect(() => resolveOptions({ proposers: 1, acceptors: 3, heartbeatIntervalMs: 100, leaderTimeoutMs: 150 })).to.throw(/leaderTimeoutMs/);
      try {
        resolveOptions({ proposers: 1, acceptors: 0 });
        expect.fail('should throw');
      } catch (err) {
        expect((err as ConfigurationError).code).to.equal('ERR_PAXOS_CONFIG');
      }
    });
  });

  describe('message validation', () => {
    it('accepts well-formed messages', () => {
      expect(isMessage({ type: 'accept', ballot: ballot(1, 0), instance: 3, batch: [{ client: 1, seq: 0, value: new Uint8Array([1]) }] })).to.equal(true);
      expect(isMessage({ type: 'catchup', requester: { group: 'learners', member: 0 }, from: 0, to: 4 })).to.equal(true);
    });

    it('rejects unknown types, wrong field types and absurd numbers', () => {
      const bad = [
        null, 42, 'accept', {}, { type: 'bogus' },
        { type: 'accept', ballot: ballot(1, 0), instance: -1, batch: [] },
        { type: 'accept', ballot: { round: 'x', node: 0 }, instance: 0, batch: [] },
        { type: 'accept', ballot: ballot(1, 0), instance: 0, batch: [{ client: 1, seq: 0, value: 5 }] },
        { type: 'promise', ballot: ballot(1, 0), acceptor: 0, from: 0, chunk: 2, chunks: 2, accepted: [] },
        { type: 'submit', client: 1, completedBelow: 0, values: [{ client: 2, seq: 0, value: 'x' }] },
        { type: 'catchup', requester: { group: 'nobody' }, from: 0, to: 1 },
        { type: 'heartbeat', from: 0, ballot: ballot(1, 0), leading: 'yes', decided: 0 },
      ];
      for (const m of bad) expect(isMessage(m), JSON.stringify(m)).to.equal(false);
    });
  });

  describe('Client', () => {
    /** A client whose session the log registered as `key`, at time 0. */
    function registered(key: number, extra: Parameters<typeof options>[0] = {}): Client {
      const c = new Client(0, options(extra), { nonce: () => 'nonce-0123456789' });
      const [register] = ofType(outgoing(c), 'submit');
      expect(register).to.deep.include({ client: 0, values: [{ client: 0, seq: 0, value: 'nonce-0123456789' }] });
      c.handle({ type: 'registered', nonce: 'nonce-0123456789', client: key }, 0);
      expect(c.session).to.equal(key);
      return c;
    }

    it('sends everything submitted in one turn as one submit, and resends what is not decided', () => {
      const c = registered(77, { clientRetryMs: 100 });
      c.submit('a', 0);
      c.submit('b', 0);
      const [submit] = ofType(outgoing(c), 'submit');
      expect(submit!.values.map((v) => [v.client, v.seq, v.value])).to.deep.equal([[77, 0, 'a'], [77, 1, 'b']]);
      c.handle({ type: 'committed', entries: [{ client: 77, seq: 0, position: 4 }, { client: 78, seq: 1, position: 5 }] }, 0);
      expect(completions(c)).to.deep.equal([{ seq: 0, position: 4 }]);
      c.tick(50);
      expect(outgoing(c)).to.have.length(0);
      c.tick(150);
      const [again] = ofType(outgoing(c), 'submit');
      expect(again!.values.map((v) => v.seq)).to.deep.equal([1]);
      expect(again!.completedBelow).to.equal(1);
    });

    it('backs off while resends go unanswered, and returns to the base interval once acks arrive', () => {
      const c = registered(77, { clientRetryMs: 100 });
      c.submit('a', 0);
      c.submit('b', 0);
      outgoing(c);
      const resendTimes: number[] = [];
      for (let t = 0; t <= 1500; t += 10) {
        c.tick(t);
        if (outgoing(c).length) resendTimes.push(t);
      }
      expect(resendTimes.slice(0, 4)).to.deep.equal([100, 300, 700, 1500]);
      c.handle({ type: 'committed', entries: [{ client: 78, seq: 0, position: 0 }] }, 1500); // not ours: no reset
      c.tick(1590);
      expect(outgoing(c)).to.have.length(0);
      c.handle({ type: 'committed', entries: [{ client: 77, seq: 0, position: 0 }] }, 1500);
      c.tick(1590);
      expect(outgoing(c)).to.have.length(0);
      c.tick(1600);
      expect(ofType(outgoing(c), 'submit')[0]!.values.map((v) => v.seq)).to.deep.equal([1]);
    });

    it('opens a fresh session before a value submitted after a long idle time, and ends pending values when its session expired', () => {
      const c = registered(77, { sessionRenewMs: 1000 });
      c.submit('a', 10);
      outgoing(c);
      c.handle({ type: 'committed', entries: [{ client: 77, seq: 0, position: 0 }] }, 20);
      c.submit('b', 500); // idle for less than sessionRenewMs: same session
      expect(ofType(outgoing(c), 'submit')[0]).to.deep.include({ client: 77 });
      c.handle({ type: 'committed', entries: [{ client: 77, seq: 1, position: 1 }] }, 510);
      c.submit('c', 2000); // idle for longer: register first, then send under the new key
      const [register] = ofType(outgoing(c), 'submit');
      expect(register).to.deep.include({ client: 0 });
      expect(register!.values[0]!.seq).to.equal(2); // the new session starts at the next seq
      c.handle({ type: 'registered', nonce: 'nonce-0123456789', client: 90 }, 2010);
      expect(ofType(outgoing(c), 'submit')[0]!.values).to.deep.equal([{ client: 90, seq: 2, value: 'c' }]);
      c.submit('d', 2020);
      outgoing(c);
      c.handle({ type: 'committed', entries: [{ client: 90, seq: 2, position: -2 }] }, 2030);
      expect(completions(c)).to.deep.equal([
        { seq: 0, position: 0 }, { seq: 1, position: 1 }, { seq: 2, position: -2 }, { seq: 3, position: -2 },
      ]);
      expect(c.pendingCount).to.equal(0);
      expect(c.session).to.equal(undefined); // registering again
    });

    it('refuses a value no batch could ever carry, with a named error', () => {
      const c = new Client(0, options({ batchMaxBytes: 100 }), { nonce: () => 'nonce-0123456789' });
      expect(() => c.submit('x'.repeat(200), 0)).to.throw(ValueTooLargeError, /exceeds/);
      expect(c.pendingCount).to.equal(0);
    });
  });
});
