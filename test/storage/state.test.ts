import { expect } from 'chai';
import { join } from 'node:path';
import { type AcceptorRecord, EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../../lib/protocol/acceptor.js';
import { ZERO_BALLOT, compareBallots } from '../../lib/protocol/ballot.js';
import { EPOCH_ROUNDS } from '../../lib/protocol/membership.js';
import type { AcceptedEntry, ClientMark, DeliverySnapshot } from '../../lib/protocol/messages.js';
import type { AcceptorState } from '../../lib/protocol/acceptor-state.js';
import { Rng } from '../../lib/sim/rng.js';
import { decodeRecord, encodeRecord, readFrame } from '../../lib/storage/codec.js';
import { MemoryAcceptorStore, openAcceptorStore } from '../../lib/storage/index.js';
import { LiveState } from '../../lib/protocol/acceptor-state.js';
import { ballot } from '../kit/ballot.js';
import { tempDir } from '../kit/temp-dir.js';

/**
 * A random record sequence that hits every rule of replay: stale and equal promises, accepts
 * that raise the promise or sit below it, re-accepts of an instance, trims that advance, repeat
 * or go back, accepts below the trim point, and trims at instance 0.
 */
function randomRecords(rng: Rng, length: number): AcceptorRecord[] {
  // Ballots of two epochs: promises are kept per epoch.
  const randomBallot = () => {
    const b = ballot(rng.int(6), rng.int(3), rng.int(2));
    return rng.chance(0.2) ? { ...b, round: b.round + EPOCH_ROUNDS } : b;
  };
  const records: AcceptorRecord[] = [];
  let top = 0;
  for (let i = 0; i < length; i++) {
    const roll = rng.next();
    if (roll < 0.15) {
      records.push({ kind: 'promise', ballot: randomBallot() });
    } else if (roll < 0.9) {
      const instance = rng.chance(0.2) ? rng.int(top + 1) : top++;
      const batch = Array.from({ length: rng.int(3) }, (_, k) => ({ client: rng.int(4), seq: k, value: `i${instance}.${k}` }));
      records.push({ kind: 'accept', instance, ballot: randomBallot(), batch });
    } else {
      const clients: ClientMark[] = Array.from({ length: rng.int(3) }, (_, c) => ({ client: c + 1, low: rng.int(50), above: rng.chance(0.5) ? [60, 61] : [], active: rng.int(10) }));
      const membership = rng.chance(0.3) ? { membership: { epoch: 1, acceptors: 0b1011, phase1Quorum: 2, phase2Quorum: 2 } } : {};
      records.push({ kind: 'trim', snapshot: { instance: rng.int(top + 2), position: rng.int(1000), nextClient: 5, clients, ...membership } });
    }
  }
  return records;
}

/**
 * The meaning of records, written out plainly as the specification (the core's `LiveState` is
 * the one implementation; this is the independent reference it is checked against): a promise or
 * an accept raises the promised ballot of its epoch; an accept below the trim point, or below the
 * ballot its instance holds, is forgotten; a trim never moves back and forgets everything below
 * it; `accepted` keeps the order of first acceptance.
 */
function referenceReplay(records: readonly AcceptorRecord[]): AcceptorState {
  const promises = new Map<number, typeof ZERO_BALLOT>();
  let trimmed: DeliverySnapshot | undefined;
  const accepted = new Map<number, AcceptedEntry>();
  for (const r of records) {
    if (r.kind === 'trim') {
      if (trimmed && trimmed.instance >= r.snapshot.instance) continue;
      trimmed = r.snapshot;
      for (const instance of accepted.keys()) if (instance < trimmed.instance) accepted.delete(instance);
      continue;
    }
    const epoch = Math.floor(r.ballot.round / EPOCH_ROUNDS);
    if (compareBallots(r.ballot, promises.get(epoch) ?? ZERO_BALLOT) > 0) promises.set(epoch, r.ballot);
    const held = r.kind === 'accept' ? accepted.get(r.instance) : undefined;
    if (r.kind === 'accept' && !(trimmed && r.instance < trimmed.instance) && !(held && compareBallots(r.ballot, held.ballot) < 0)) {
      accepted.set(r.instance, { instance: r.instance, ballot: r.ballot, batch: r.batch });
    }
  }
  const all = [...promises.values()].sort(compareBallots);
  const promised = all.pop() ?? ZERO_BALLOT;
  return { promised, ...(all.length ? { earlierPromises: all } : {}), accepted: [...accepted.values()], ...(trimmed ? { trimmed } : {}) };
}

describe('Acceptor storage: replay means what the core says (applyAcceptorRecords)', () => {
  it('random record sequences give the reference states through LiveState and applyAcceptorRecords', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new Rng(seed);
      const records = randomRecords(rng, 1 + rng.int(120));
      const expected = referenceReplay(records);
      // Applied in random chunks, as appends arrive turn by turn; the core folds chunk by chunk too.
      const live = new LiveState();
      let folded = EMPTY_ACCEPTOR_STATE;
      for (let at = 0; at < records.length;) {
        const chunk = records.slice(at, at += 1 + rng.int(10));
        for (const r of chunk) live.apply(r);
        folded = applyAcceptorRecords(folded, chunk);
        expect(live.toState(), `seed ${seed} after ${at} records`).to.deep.equal(folded);
      }
      expect(live.toState(), `seed ${seed}`).to.deep.equal(expected);
      // Compaction's records rebuild the same state, and survive the codec.
      const compacted = live.records().map((r) => {
        const frame = readFrame(encodeRecord(r), 0);
        if (!frame.ok) throw new Error(frame.reason);
        return decodeRecord(frame.body);
      });
      expect(applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, compacted), `seed ${seed} compacted`).to.deep.equal(expected);
      expect(compacted.length).to.be.at.most(expected.accepted.length + 3);
    }
  });

  it('the in-memory store recovers applyAcceptorRecords of its durable records, before and after compaction', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const records = randomRecords(new Rng(seed), 80);
      const s = new MemoryAcceptorStore('batch');
      s.append(records.slice(0, 40));
      await s.compact();
      s.append(records.slice(40));
      s.flushSync();
      const survivor = new MemoryAcceptorStore('batch', s.crash('machine'));
      expect(survivor.recovered, `seed ${seed}`).to.deep.equal(applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, records));
    }
  });

  it('the log store recovers applyAcceptorRecords of its records, before and after compaction', async () => {
    const { path: dir, remove } = tempDir('paxos-state-test-');
    try {
      for (let seed = 1; seed <= 10; seed++) {
        const records = randomRecords(new Rng(seed * 7919), 150);
        const sub = join(dir, String(seed));
        const s = await openAcceptorStore(sub, { sync: 'none' });
        s.append(records.slice(0, 100));
        await s.flush();
        const reopened = await openAcceptorStore(sub, { sync: 'none' });
        expect(reopened.recovered, `seed ${seed} reopened`).to.deep.equal(applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, records.slice(0, 100)));
        await reopened.close();
        await s.compact();
        s.append(records.slice(100));
        await s.close();
        const again = await openAcceptorStore(sub, { sync: 'none' });
        expect(again.recovered, `seed ${seed} compacted`).to.deep.equal(applyAcceptorRecords(EMPTY_ACCEPTOR_STATE, records));
        await again.close();
      }
    } finally {
      remove();
    }
  });
});
