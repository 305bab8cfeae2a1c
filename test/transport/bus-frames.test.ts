/** Bus frames: what is packed into typed arrays comes out equal, in order, after a structured clone. */
import { expect } from 'chai';
import type { Message } from '../../lib/protocol/messages.js';
import { FramePacker, unpackFrame } from '../../lib/transport/bus-frames.js';
import { BALLOT, OLD_BALLOT, sampleMessages, submissions } from './samples.js';

const crossThreads = (frame: readonly Message[], packer = new FramePacker()): Message[] => unpackFrame(structuredClone(packer.pack(frame)));

describe('bus frames', () => {
  it('every message type, alone and mixed with runs of votes, comes out equal and in order', () => {
    const samples = sampleMessages();
    for (const m of samples) expect(crossThreads([m])).to.deep.equal([m]);
    const votes = (n: number, b = BALLOT): Message[] => Array.from({ length: n }, (_, i) => ({ type: 'accepted', ballot: b, instance: i, acceptor: i % 3 }));
    const mixed: Message[] = [
      ...votes(3), samples[0]!, ...votes(2, OLD_BALLOT), ...votes(1),
      { type: 'accept', ballot: BALLOT, instance: 9, batch: submissions(1200) },
      { type: 'submit', client: 5, completedBelow: 17, values: submissions(40, 5, 17) },
      { type: 'committed', entries: Array.from({ length: 50 }, (_, i) => ({ client: 3, seq: i, position: i === 7 ? -2 : 1000 + i })) },
      { type: 'accept', ballot: BALLOT, instance: 10, batch: [] },
      ...samples,
    ];
    expect(crossThreads(mixed)).to.deep.equal(mixed);
  });

  it('payloads: strings of any content (empty, astral, long) cut back exactly; byte payloads and mixed batches as they are', () => {
    const texts = ['', 'a', '😀 €', 'x'.repeat(10_000), '', '\u0000\ud83d\ude00', 'end'];
    const bytes = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7), new Uint8Array([255])];
    const batch = (values: readonly (string | Uint8Array)[]) => values.map((value, i) => ({ client: 4, seq: i, value }));
    for (const values of [texts, bytes, [...texts, ...bytes]]) {
      const frame: Message[] = [
        { type: 'accept', ballot: BALLOT, instance: 3, batch: batch(values) },
        { type: 'submit', client: 4, completedBelow: 0, values: batch(values) },
      ];
      expect(crossThreads(frame)).to.deep.equal(frame);
    }
  });

  it('a message in several frames of one send is packed once and reused', () => {
    const accept: Message = { type: 'accept', ballot: BALLOT, instance: 1, batch: submissions(100) };
    const packer = new FramePacker();
    const [a] = packer.pack([accept]);
    const [b] = packer.pack([accept]);
    expect(a).to.equal(b);
    expect(a).to.have.property('packed', 'accept');
    expect(unpackFrame([a!])).to.deep.equal([accept]);
  });
});
