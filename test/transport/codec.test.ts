/** The datagram codec (lib/transport/codec.ts) and the UDP receive path (lib/transport/udp-multicast.ts), without sockets. */
import { expect } from 'chai';
import type { Destination, Message } from '../../lib/protocol/index.js';
import { MAX_BARRIER_TOKENS, batchSize, resolveOptions } from '../../lib/protocol/index.js';
import {
  EncodeError, FRAME_VERSION, HMAC_BYTES, MAX_BATCH_BYTES_FOR_DATAGRAM, MAX_COMMIT_ENTRIES, MAX_DATAGRAM_BYTES, decodeFrame, encodeFrames,
  keyFromSecret, splitMessage,
} from '../../lib/transport/codec.js';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { joinSnapshot, splitSnapshot } from '../../lib/protocol/snapshot-parts.js';
import type { ClientMark, DeliverySnapshot, Outgoing } from '../../lib/protocol/messages.js';
import { checkBatchFits, createReceiver, emptyTransportMetrics, maxBatchBytesFor } from '../../lib/transport/udp-multicast.js';
import { CLIENT, BALLOT, sampleMessages, submissions } from './samples.js';
import { outgoing } from '../kit/drain.js';

const FROM = { group: 'proposers', id: 1 } as const;
const TO: Destination = { group: 'learners' };

/** Structural equality that treats Uint8Array contents as values. */
function normal(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? { bytes: [...v] } : v)));
}

function roundTrip(messages: Message[], key?: Uint8Array, to: Destination = TO): Message[] {
  const { frames, oversize } = encodeFrames(to, FROM, messages, { key });
  expect(oversize).to.have.length(0);
  const out: Message[] = [];
  for (const f of frames) {
    expect(f.length).to.be.at.most(MAX_DATAGRAM_BYTES);
    const r = decodeFrame(f, key);
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    expect(r.frame.to).to.deep.equal(to);
    expect(r.frame.from).to.deep.equal(FROM);
    out.push(...r.frame.messages);
  }
  return out;
}

describe('datagram codec', () => {
  it('round-trips every message type exactly, in one coalesced frame', () => {
    const messages = sampleMessages();
    const { frames } = encodeFrames(TO, FROM, messages);
    expect(frames).to.have.length(1);
    expect(normal(roundTrip(messages))).to.deep.equal(normal(messages));
  });

  it('round-trips with an HMAC and addresses one member', () => {
    const key = keyFromSecret('correct horse battery staple');
    const to = { group: 'learners', member: 3 } as const;
    expect(normal(roundTrip(sampleMessages(), key, to))).to.deep.equal(normal(sampleMessages()));
  });

  it('is compact: a 1,400-value accept is far smaller than JSON and fits one datagram', () => {
    const batch = submissions(1400).map((s, i) => ({ ...s, value: String((i * 7919) % 32768) }));
    const accept: Message = { type: 'accept', ballot: BALLOT, instance: 5, batch };
    const { frames } = encodeFrames(TO, FROM, [accept]);
    const json = Buffer.byteLength(JSON.stringify(accept));
    expect(frames).to.have.length(1);
    expect(frames[0]!.length).to.be.below(json / 5);
    const committed: Message = { type: 'committed', entries: batch.map((s, i) => ({ client: s.client, seq: s.seq, position: 100 + i })) };
    expect(encodeFrames({ group: 'clients' }, FROM, [committed]).frames[0]!.length).to.be.below(40);
  });

  it('a batch within batchMaxBytes always fits one signed datagram (worst-case ids and seqs)', () => {
    const options = resolveOptions({ proposers: 2, acceptors: 3 });
    checkBatchFits(options);
    // Alternate two clients with huge keys and non-consecutive seqs: no delta compression.
    const batch = [];
    let bytes = 0;
    for (let i = 0; ; i++) {
      const s = { client: 2 ** 52 + (i % 2), seq: 2 ** 50 + 2 * i, value: 'x'.repeat(i % 40) };
      if (bytes + batchSize([s]) > options.batchMaxBytes) break;
      batch.push(s);
      bytes += batchSize([s]);
    }
    const accept: Message = { type: 'accept', ballot: { round: 2 ** 50, node: 2 ** 52 }, instance: 2 ** 52, batch };
    const { frames, oversize } = encodeFrames(TO, FROM, [accept], { key: keyFromSecret('k') });
    expect(oversize).to.have.length(0);
    expect(frames).to.have.length(1);
    expect(frames[0]!.length).to.be.at.most(MAX_DATAGRAM_BYTES);
    expect(() => checkBatchFits({ batchMaxBytes: maxBatchBytesFor() + 1 })).to.throw(/too large/);
  });

  it('splits what can be split, and reports a single value that can never fit', () => {
    const many = submissions(20_000).map((s) => ({ ...s, value: 'value-' + s.seq }));
    const submit: Message = { type: 'submit', client: CLIENT, completedBelow: 0, values: many };
    const { frames, oversize } = encodeFrames({ group: 'proposers' }, FROM, [submit]);
    expect(oversize).to.have.length(0);
    expect(frames.length).to.be.greaterThan(1);
    const back = frames.flatMap((f) => {
      const r = decodeFrame(f);
      return r.ok ? r.frame.messages : [];
    });
    expect(back.flatMap((m) => (m.type === 'submit' ? m.values.map((v) => v.value) : []))).to.deep.equal(many.map((s) => s.value));
    const notices = Array.from({ length: MAX_COMMIT_ENTRIES + 10 }, (_, i) => ({ client: i, seq: i, position: i }));
    const big = encodeFrames({ group: 'clients' }, FROM, [{ type: 'committed', entries: notices }]);
    expect(big.oversize).to.have.length(0);
    expect(big.frames.length).to.be.greaterThan(1);
    const huge: Message = { type: 'accept', ballot: BALLOT, instance: 1, batch: [{ client: 1, seq: 0, value: 'y'.repeat(70_000) }] };
    const r = encodeFrames(TO, FROM, [huge]);
    expect(r.frames).to.have.length(0);
    expect(r.oversize).to.have.length(1);
  });

  it('carries a message type it has no encoding for as JSON (and the receiver validates it)', () => {
    const future = { type: 'future-thing', bytes: new Uint8Array([1, 2, 3]), n: 5 } as unknown as Message;
    const frame = encodeFrames(TO, FROM, [future]).frames[0]!;
    // Unknown to the protocol's `isMessage`, so dropped as invalid, without throwing.
    expect(decodeFrame(frame)).to.include({ ok: false, reason: 'invalid' });
  });

  it('refuses to encode malformed messages with a typed error', () => {
    const bad = { type: 'prepare', ballot: { round: -1, node: 0 }, from: 0 } as unknown as Message;
    expect(() => encodeFrames(TO, FROM, [bad])).to.throw(EncodeError, /not a non-negative safe integer/);
  });

  it('rejects unsigned, tampered and wrongly keyed frames when a secret is set', () => {
    const key = keyFromSecret('s3cret');
    const plain = encodeFrames(TO, FROM, sampleMessages()).frames[0]!;
    const signed = encodeFrames(TO, FROM, sampleMessages(), { key }).frames[0]!;
    expect(decodeFrame(plain, key)).to.include({ ok: false, reason: 'unauthenticated' });
    expect(decodeFrame(signed, keyFromSecret('other'))).to.include({ ok: false, reason: 'unauthenticated' });
    expect(decodeFrame(signed)).to.include({ ok: false, reason: 'unauthenticated' });
    for (const at of [0, 5, 20, signed.length - HMAC_BYTES - 1, signed.length - 1]) {
      const t = Buffer.from(signed);
      t[at]! ^= 0x10;
      expect(decodeFrame(t, key).ok, `flip at ${at}`).to.equal(false);
    }
    expect(decodeFrame(signed, key).ok).to.equal(true);
  });

  it('every message type, at its largest under the largest configuration, fits one signed datagram or splits', () => {
    const o = resolveOptions({ proposers: 4, acceptors: 31, batchMaxBytes: MAX_BATCH_BYTES_FOR_DATAGRAM, maxSessions: 1 << 20 });
    const big = Number.MAX_SAFE_INTEGER;
    const huge = { round: big, node: big };
    const key = keyFromSecret('k');
    // The largest value a client accepts, from the largest key and seq; a batch of many small ones.
    const oneValue = [{ client: big, seq: big, value: 'x'.repeat(o.batchMaxBytes - 24) }];
    const many = Array.from({ length: Math.floor(o.batchMaxBytes / 25) }, (_, i) => ({ client: big - i, seq: big - i, value: '' }));
    // A filter snapshot far beyond one datagram: 20,000 sessions, some with long `above` lists.
    const clients: ClientMark[] = Array.from({ length: 20_000 }, (_, i) => ({
      client: big - i, low: big - 10_000, above: i % 100 === 0 ? Array.from({ length: 3000 }, (_, k) => big - k) : [], active: big,
    }));
    const snapshot: DeliverySnapshot = { instance: big, position: big, nextClient: big, clients };
    const parts = splitSnapshot(snapshot, o.batchMaxBytes);
    expect(parts.length).to.be.greaterThan(10);
    expect(joinSnapshot(parts)).to.deep.equal(snapshot);
    // Promise chunks and below-trim answers come from a real acceptor holding all of that.
    const acceptor = new Acceptor(30, o, {
      promised: { round: big - 1, node: big }, trimmed: { ...snapshot, instance: 100 },
      accepted: [
        { instance: 100, ballot: huge, batch: oneValue }, { instance: 101, ballot: huge, batch: many },
        ...Array.from({ length: 500 }, (_, i) => ({ instance: 102 + i, ballot: huge, batch: oneValue.map((v) => ({ ...v, value: 'y'.repeat(300) })) })),
      ],
    });
    acceptor.handle({ type: 'prepare', ballot: huge, from: 0 });
    acceptor.handle({ type: 'accept', ballot: huge, instance: 5, batch: [] });
    const fromAcceptor = outgoing(acceptor).map((out: Outgoing) => out.message);
    expect(fromAcceptor.filter((m) => m.type === 'promise').length).to.be.greaterThan(parts.length);
    expect(fromAcceptor.filter((m) => m.type === 'trimmed').length).to.equal(parts.length);
    const largest: Message[] = [
      ...fromAcceptor,
      { type: 'submit', client: big, completedBelow: big, values: oneValue },
      { type: 'submit', client: big, completedBelow: big, values: many.map((v) => ({ ...v, client: big })) },
      { type: 'accept', ballot: huge, instance: big, batch: oneValue },
      { type: 'accept', ballot: huge, instance: big, batch: many },
      { type: 'accepted', ballot: huge, instance: big, acceptor: 30 },
      { type: 'heartbeat', from: 3, ballot: huge, leading: true, decided: big, quorum: true },
      { type: 'prepare', ballot: huge, from: big },
      { type: 'nack', ballot: huge, promised: huge, acceptor: 30 },
      { type: 'alive', acceptor: 30, promised: huge },
      { type: 'catchup', requester: { group: 'proposers', member: 3 }, from: big, to: big },
      { type: 'decided', entries: [{ instance: big, batch: oneValue }] },
      { type: 'decided', entries: Array.from({ length: 2000 }, (_, i) => ({ instance: big - i, batch: many.slice(0, 10) })) },
      { type: 'committed', entries: Array.from({ length: MAX_COMMIT_ENTRIES }, (_, i) => ({ client: big - i, seq: big - i, position: i % 2 ? -2 : big - 2 - i })) },
      { type: 'progress', learner: 2 ** 20, delivered: big, stateAt: big },
      { type: 'stateRequest', requester: 2 ** 20, atLeast: big, source: 2 ** 20, instance: big, chunk: big },
      { type: 'stateChunk', learner: 2 ** 20, instance: big, chunk: big - 1, chunks: big, data: new Uint8Array(48 * 1024) },
      { type: 'registered', nonce: 'n'.repeat(64), client: big },
      { type: 'barrier', tokens: Array.from({ length: MAX_BARRIER_TOKENS }, () => 't'.repeat(64)) },
      { type: 'barrierPassed', tokens: Array.from({ length: MAX_BARRIER_TOKENS }, () => 't'.repeat(64)), position: big },
      { type: 'confirm', ballot: huge, round: big },
      { type: 'confirmed', ballot: huge, acceptor: 30, round: big, promised: huge },
      { type: 'takeover', from: 63, ballot: huge },
      { type: 'transferRequest', from: 1023, to: 1022 },
      ...parts.map((part): Message => ({ type: 'trim', snapshot: part })),
    ];
    const seen = new Set<string>();
    for (const m of largest) {
      seen.add(m.type);
      const { frames, oversize } = encodeFrames(TO, FROM, [m], { key });
      expect(oversize.map((x) => x.type), m.type).to.deep.equal([]);
      for (const f of frames) expect(f.length, m.type).to.be.at.most(MAX_DATAGRAM_BYTES);
      if (frames.length > 1) expect(splitMessage(m), `${m.type} needed ${frames.length} datagrams`).to.not.equal(undefined);
    }
    const allTypes = ['submit', 'heartbeat', 'prepare', 'promise', 'nack', 'accept', 'accepted', 'catchup', 'decided', 'committed',
      'registered', 'alive', 'progress', 'trim', 'trimmed', 'barrier', 'barrierPassed', 'confirm', 'confirmed', 'takeover',
      'stateRequest', 'stateChunk', 'transferRequest'];
    expect([...seen].sort()).to.deep.equal(allTypes.sort());
  });

  it('drops wrong versions, truncations and absurd counts without throwing', () => {
    const frame = encodeFrames(TO, FROM, sampleMessages()).frames[0]!;
    const other = Buffer.from(frame);
    other[2] = FRAME_VERSION + 1;
    expect(decodeFrame(other)).to.include({ ok: false, reason: 'version' });
    other[2] = FRAME_VERSION - 1;
    expect(decodeFrame(other)).to.include({ ok: false, reason: 'version' });
    for (let n = 0; n < frame.length; n += 7) expect(decodeFrame(frame.subarray(0, n)).ok).to.equal(false);
    // header + count 1 + a decided message claiming 2^40 entries
    const absurd = Buffer.concat([frame.subarray(0, 8), Buffer.from([0, 1, 9, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20])]);
    expect(decodeFrame(absurd).ok).to.equal(false);
    expect(decodeFrame(new Uint8Array(0)).ok).to.equal(false);
  });

  it('the receive path filters by group, member and role and counts every drop', () => {
    const got: Message[] = [];
    const metrics = emptyTransportMetrics();
    const receive = createReceiver([{ group: 'learners', id: 2 }], undefined, (m) => got.push(m), metrics);
    receive(encodeFrames({ group: 'learners' }, FROM, [{ type: 'prepare', ballot: BALLOT, from: 0 }]).frames[0]!);
    receive(encodeFrames({ group: 'acceptors' }, FROM, [{ type: 'accepted', ballot: BALLOT, instance: 0, acceptor: 0 }]).frames[0]!);
    receive(encodeFrames({ group: 'learners', member: 1 }, FROM, [{ type: 'decided', entries: [] }]).frames[0]!);
    receive(encodeFrames({ group: 'learners', member: 2 }, FROM, [{ type: 'decided', entries: [] }]).frames[0]!);
    receive(Buffer.from('garbage'));
    expect(got.map((m) => m.type)).to.deep.equal(['decided']);
    expect(metrics).to.include({ droppedWrongRole: 1, droppedWrongGroup: 1, filteredOtherMember: 1, droppedBad: 1, messagesIn: 1 });
  });
});
