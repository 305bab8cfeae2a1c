import { expect } from 'chai';
import { type AcceptorRecord, MemoryAcceptorStore } from '../../lib/storage/index.js';
import { ballot } from '../kit/ballot.js';

const b = (round: number) => ballot(round, 1, 0);
const accept = (instance: number): AcceptorRecord =>
  ({ kind: 'accept', instance, ballot: b(1), batch: [{ client: 1, seq: instance, value: `v${instance}` }] });

describe('Acceptor storage: in-memory twin for the simulator', () => {
  it('a process crash keeps every flushed record; unflushed appends are lost', () => {
    const s = new MemoryAcceptorStore('none');
    s.append([{ kind: 'promise', ballot: b(3) }, accept(0)]);
    s.flushSync();
    s.append([accept(1)]);
    const survivor = new MemoryAcceptorStore('none', s.crash('process'));
    expect(survivor.recovered.promised).to.deep.equal(b(3));
    expect(survivor.recovered.accepted.map((e) => e.instance)).to.deep.equal([0]);
  });

  it('a machine crash keeps only fsynced records: everything under always/batch, nothing new under none', () => {
    for (const [sync, kept] of [['always', [0, 1]], ['batch', [0, 1]], ['none', []]] as const) {
      const s = new MemoryAcceptorStore(sync);
      s.append([accept(0), accept(1)]);
      s.flushSync();
      const survivor = new MemoryAcceptorStore(sync, s.crash('machine'));
      expect(survivor.recovered.accepted.map((e) => e.instance), sync).to.deep.equal(kept);
    }
  });

  it('compaction keeps exactly the live state, durably even under none', async () => {
    const snapshot = { instance: 2, position: 2, nextClient: 2, clients: [{ client: 1, low: 3, above: [], active: 1 }] };
    const s = new MemoryAcceptorStore('none');
    s.append([accept(0), accept(1), accept(2), { kind: 'trim', snapshot }]);
    await s.compact();
    expect(s.logBytes).to.equal(3); // trim, promise, accept 2
    const survivor = new MemoryAcceptorStore('none', s.crash('machine'));
    expect(survivor.recovered).to.deep.equal({
      promised: b(1), trimmed: snapshot, accepted: [{ instance: 2, ballot: b(1), batch: [{ client: 1, seq: 2, value: 'v2' }] }],
    });
  });
});
