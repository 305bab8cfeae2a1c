import { expect } from 'chai';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import type { Message, Outgoing } from '../../lib/protocol/messages.js';
import { type AcceptorStore, openAcceptorStore } from '../../lib/storage/index.js';
import { batchOf, ofType, options, value } from '../protocol/harness.js';
import { ballot } from '../kit/ballot.js';
import { outgoing, writes } from '../kit/drain.js';
import { tempDirs } from '../kit/temp-dir.js';

/**
 * Handles one message the way a durable runtime does: the acceptor's writes are appended and
 * flushed, and only then are its answers returned (to be sent).
 */
async function handleDurably(acceptor: Acceptor, store: AcceptorStore, m: Message): Promise<Outgoing[]> {
  acceptor.handle(m);
  store.append(writes(acceptor));
  const out = outgoing(acceptor);
  await store.flush();
  return out;
}

/** A durable acceptor resumed from what its store recovered. */
const resume = (store: AcceptorStore): Acceptor => new Acceptor(0, options(), store.recovered, { logWrites: true });

describe('Acceptor storage: a restarted acceptor', () => {
  const newDir = tempDirs('paxos-restart-test-');
  let dir: string;
  beforeEach(() => { dir = newDir(); });

  it('P1a across a crash: never accepts below a promise it made before the crash', async () => {
    const store = await openAcceptorStore(dir, { sync: 'always' });
    const a = resume(store);
    const answers = await handleDurably(a, store, { type: 'prepare', ballot: ballot(5, 1), from: 0 });
    expect(ofType(answers, 'promise')).to.have.length(1); // only now may the promise be sent
    // Crash: the store is abandoned without close(); a new incarnation reads the directory.
    const again = await openAcceptorStore(dir, { sync: 'always' });
    const b = resume(again);
    b.handle({ type: 'accept', ballot: ballot(3, 2), instance: 0, batch: batchOf(value(1, 0)) });
    const out = outgoing(b);
    expect(ofType(out, 'accepted')).to.have.length(0);
    expect(ofType(out, 'nack')[0]!.promised).to.deep.equal(ballot(5, 1));
    await again.close();
    await store.close();
  });

  it('P2c across a crash: a new leader learns every value accepted before the crash', async () => {
    const store = await openAcceptorStore(dir, { sync: 'batch' });
    const a = resume(store);
    for (const instance of [0, 1, 2]) {
      await handleDurably(a, store, { type: 'accept', ballot: ballot(1, 1), instance, batch: batchOf(value(1, instance)) });
    }
    // Refused and record-free messages persist nothing.
    await handleDurably(a, store, { type: 'accept', ballot: ballot(0, 1), instance: 9, batch: batchOf(value(1, 9)) });
    await handleDurably(a, store, { type: 'heartbeat', from: 1, ballot: ballot(1, 1), leading: true, decided: 0, quorum: true });
    expect(store.metrics.records).to.equal(3);
    const again = await openAcceptorStore(dir, { sync: 'batch' });
    const b = resume(again);
    b.handle({ type: 'prepare', ballot: ballot(2, 2), from: 1 });
    const [promise] = ofType(outgoing(b), 'promise');
    expect(promise!.accepted).to.deep.equal([1, 2].map((instance) => ({ instance, ballot: ballot(1, 1), batch: batchOf(value(1, instance)) })));
    await again.close();
    await store.close();
  });

  it('trimming across a crash: the trim point and its delivery snapshot survive, trimmed instances stay forgotten', async () => {
    const snapshot = { instance: 2, position: 5, nextClient: 2, clients: [{ client: 1, low: 2, above: [4], active: 1 }] };
    const store = await openAcceptorStore(dir, { sync: 'batch' });
    const a = resume(store);
    for (const instance of [0, 1, 2, 3]) {
      await handleDurably(a, store, { type: 'accept', ballot: ballot(1, 1), instance, batch: batchOf(value(1, instance)) });
    }
    await handleDurably(a, store, { type: 'trim', snapshot: { ...snapshot, part: 0, parts: 1 } });
    // A retransmitted accept below the trim point changes nothing (and is not persisted).
    await handleDurably(a, store, { type: 'accept', ballot: ballot(1, 1), instance: 1, batch: batchOf(value(1, 1)) });
    expect(store.metrics.records).to.equal(5);
    const again = await openAcceptorStore(dir, { sync: 'batch' });
    expect(again.recovered.trimmed).to.deep.equal(snapshot);
    expect(again.recovered).to.deep.equal(a.snapshot());
    const b = resume(again);
    b.handle({ type: 'prepare', ballot: ballot(2, 2), from: 0 });
    const chunks = ofType(outgoing(b), 'promise');
    expect(chunks.map((c) => c.trimmed).filter(Boolean)).to.deep.equal([{ ...snapshot, part: 0, parts: 1 }]);
    expect(chunks.flatMap((c) => c.accepted.map((e) => e.instance))).to.deep.equal([2, 3]);
    await again.close();
    await store.close();
  });
});
