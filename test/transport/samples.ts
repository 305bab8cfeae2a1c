/** One or more valid messages of every type, for codec and fuzz tests. */
import type { Ballot, Message, Submission } from '../../lib/protocol/index.js';
import { type Membership, nodeKey, reconfigurationEntry } from '../../lib/protocol/index.js';
import { ballot } from '../kit/ballot.js';

export const BALLOT: Ballot = ballot(7, 1, 0xdeadbeef);
export const OLD_BALLOT: Ballot = ballot(3, 0, 12345);
export const CLIENT = nodeKey(2, 0xcafef00d);
const NEXT_MEMBERSHIP: Membership = { epoch: 3, acceptors: 0b1011, phase1Quorum: 2, phase2Quorum: 2 };

export function submissions(n: number, client = CLIENT, seq0 = 0): Submission[] {
  return Array.from({ length: n }, (_, i) => ({
    client,
    seq: seq0 + i,
    value: i % 7 === 3 ? new Uint8Array([i & 255, 0, 255, 10]) : i % 5 === 1 ? `ünïcødé ${i} ✓ 𝄞` : String((i * 7919) % 32768),
  }));
}

export function sampleMessages(): Message[] {
  const batch = submissions(40);
  const mixed: Submission[] = [...submissions(3), ...submissions(2, nodeKey(3, 1), 10), ...submissions(2, CLIENT, 100)];
  const snapshot = {
    instance: 40, position: 1234, nextClient: CLIENT + 1, part: 0, parts: 1,
    clients: [{ client: CLIENT, low: 90, above: [92, 95], active: 39 }, { client: 1, low: 0, above: [], active: 3 }],
  };
  return [
    { type: 'submit', client: CLIENT, completedBelow: 12, values: submissions(30) },
    { type: 'submit', client: CLIENT, completedBelow: 0, values: [] },
    { type: 'heartbeat', from: 1, ballot: BALLOT, leading: true, decided: 99, quorum: true },
    { type: 'heartbeat', from: 0, ballot: { round: 0, node: 0 }, leading: false, decided: 0, quorum: false },
    { type: 'prepare', ballot: BALLOT, from: 17 },
    {
      type: 'promise', ballot: BALLOT, acceptor: 2, from: 17, cutAt: 0, chunk: 0, chunks: 2,
      accepted: [{ instance: 17, ballot: OLD_BALLOT, batch }, { instance: 19, ballot: OLD_BALLOT, batch: [] }],
    },
    { type: 'promise', ballot: BALLOT, acceptor: 0, from: 50, cutAt: 40, chunk: 1, chunks: 2, accepted: [], trimmed: snapshot },
    { type: 'nack', ballot: OLD_BALLOT, promised: BALLOT, acceptor: 1 },
    { type: 'accept', ballot: BALLOT, instance: 2 ** 40, batch: mixed },
    { type: 'accept', ballot: BALLOT, instance: 0, batch: [] },
    { type: 'accepted', ballot: BALLOT, instance: 123456789, acceptor: 30 },
    { type: 'catchup', requester: { group: 'learners', member: 4 }, from: 10, to: 522 },
    { type: 'catchup', requester: { group: 'proposers' }, from: 0, to: 1 },
    { type: 'decided', entries: [{ instance: 10, batch }, { instance: 11, batch: mixed }] },
    { type: 'decided', entries: [{ instance: 12, batch, epoch: 3 }, { instance: 13, batch: [reconfigurationEntry(NEXT_MEMBERSHIP)], epoch: 3 }] },
    {
      type: 'committed',
      entries: [
        { client: CLIENT, seq: 0, position: 5 }, { client: CLIENT, seq: 1, position: 6 }, { client: CLIENT, seq: 2, position: 7 },
        { client: 9, seq: 40, position: 8 }, { client: CLIENT, seq: 3, position: 10 }, { client: CLIENT, seq: 4, position: -1 },
        { client: CLIENT, seq: 5, position: -2 },
      ],
    },
    { type: 'progress', learner: 1, delivered: 77, stateAt: 64 },
    { type: 'stateRequest', requester: 2, atLeast: 640, source: -1, instance: 0, chunk: 0 },
    { type: 'transferRequest', from: 1, to: 3 },
    { type: 'stateRequest', requester: 2, atLeast: 640, source: 1, instance: 700, chunk: 9 },
    { type: 'stateChunk', learner: 1, instance: 700, chunk: 9, chunks: 12, data: new Uint8Array([0, 1, 2, 250]) },
    { type: 'trim', snapshot },
    { type: 'trimmed', snapshot: { instance: 0, position: 0, nextClient: 1, part: 1, parts: 3, clients: [] } },
    { type: 'trimmed', snapshot: { instance: 9, position: 4, nextClient: 2, part: 0, parts: 1, clients: [], membership: NEXT_MEMBERSHIP } },
    { type: 'registered', nonce: '0123456789abcdef0123', client: 77 },
    { type: 'alive', acceptor: 4, promised: BALLOT },
    { type: 'barrier', tokens: ['0123456789abcdef', 'fedcba9876543210fedc'] },
    { type: 'barrierPassed', tokens: ['0123456789abcdef'], position: 4321 },
    { type: 'confirm', ballot: BALLOT, round: 12 },
    { type: 'confirmed', ballot: BALLOT, acceptor: 2, round: 12, promised: BALLOT },
    { type: 'takeover', from: 1, ballot: BALLOT },
  ];
}
