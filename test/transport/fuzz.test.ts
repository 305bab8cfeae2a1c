/**
 * Fuzz: thousands of corrupted datagrams into each role's decode-and-handle path (no sockets):
 * random bytes, bit flips of valid frames, truncations, wrong versions, absurd lengths, messages
 * for the wrong role, unsigned and tampered frames. Nothing may throw, the role must keep working,
 * and every kind of drop must show in the counters.
 */
import { expect } from 'chai';
import {
  Acceptor, Client, type Group, Learner, type Message, Proposer, type Role, resolveOptions,
} from '../../lib/protocol/index.js';
import { MAX_DATAGRAM_BYTES, encodeFrames, keyFromSecret } from '../../lib/transport/codec.js';
import { type TransportMetrics, createReceiver, emptyTransportMetrics } from '../../lib/transport/udp-multicast.js';
import { seededRandom } from '../kit/random.js';
import { BALLOT, sampleMessages } from './samples.js';
import { outgoing } from '../kit/drain.js';

const ROUNDS = Number(process.env.PAXOS_FUZZ_ROUNDS ?? 4000);

function makeNode(group: Group): Role {
  const options = resolveOptions({ proposers: 2, acceptors: 3 });
  switch (group) {
    case 'acceptors': return new Acceptor(1, options);
    case 'proposers': return new Proposer(1, options, { incarnation: 42, random: seededRandom(1) });
    case 'learners': return new Learner(1, options);
    case 'clients': {
      const c = new Client(1, options, { nonce: () => 'fuzz-nonce-000001' });
      c.submit('hello', 0);
      return c;
    }
  }
}

interface FuzzResult {
  metrics: TransportMetrics;
  delivered: number;
}

function fuzzRole(group: Group, seed: number, secret?: string): FuzzResult {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const key = secret ? keyFromSecret(secret) : undefined;
  const node = makeNode(group);
  let now = 0;
  let delivered = 0;
  const metrics = emptyTransportMetrics();
  const receive = createReceiver([{ group, id: 1 }], key, (m) => {
    delivered++;
    node.handle(m, now);
  }, metrics);

  // Valid frames to start from: every sample message, to the role's group, to its member, to
  // another member, and to other groups; signed when there is a secret.
  const messages = sampleMessages();
  const from = { group: 'proposers' as const, id: 1 };
  const valid: Buffer[] = [];
  const otherGroup: Group = group === 'acceptors' ? 'learners' : 'acceptors';
  for (const to of [{ group }, { group, member: 1 }, { group, member: 0 }, { group: otherGroup }]) {
    valid.push(...encodeFrames(to, from, messages, { key }).frames);
    for (const m of messages) valid.push(...encodeFrames(to, from, [m], { key }).frames);
  }
  const unsigned = key ? encodeFrames({ group }, from, messages).frames : [];

  const mutate = (kind: number): Uint8Array => {
    const base = valid[int(valid.length)]!;
    switch (kind) {
      case 0: { // random bytes, sometimes behind a valid-looking header
        const b = Buffer.alloc(int(600));
        for (let i = 0; i < b.length; i++) b[i] = int(256);
        if (b.length > 4 && random() < 0.5) base.copy(b, 0, 0, Math.min(10, b.length));
        return b;
      }
      case 1: { // bit flips
        const b = Buffer.from(base);
        for (let n = 1 + int(4); n > 0; n--) b[int(b.length)]! ^= 1 << int(8);
        return b;
      }
      case 2: // truncation
        return base.subarray(0, int(base.length));
      case 3: { // wrong version
        const b = Buffer.from(base);
        b[2] = 2 + int(250);
        return b;
      }
      case 4: { // absurd lengths: overwrite a byte run with 0xff... (huge varints)
        const b = Buffer.from(base);
        const at = 8 + int(Math.max(1, b.length - 8));
        for (let i = at; i < Math.min(b.length, at + 1 + int(9)); i++) b[i] = 0xff;
        return b;
      }
      case 5: // a valid frame (some are for the wrong role, group or member)
        return base;
      case 6: // unsigned when a secret is required, or random garbage appended
        return unsigned.length ? unsigned[int(unsigned.length)]! : Buffer.concat([base, Buffer.alloc(1 + int(40), int(256))]);
      default: { // oversized garbage
        const b = Buffer.alloc(MAX_DATAGRAM_BYTES);
        base.copy(b);
        return b;
      }
    }
  };

  for (let round = 0; round < ROUNDS; round++) {
    receive(mutate(round % 8));
    if (round % 10 === 0) {
      now += 7;
      node.tick(now);
      outgoing(node);
    }
  }
  // Still works: a well-formed message for the role is handled afterwards.
  const probe: Message = group === 'acceptors'
    ? { type: 'prepare', ballot: { round: BALLOT.round + 1000, node: BALLOT.node }, from: 0 }
    : group === 'clients' ? { type: 'committed', entries: [] } : { type: 'decided', entries: [] };
  const before = metrics.messagesIn;
  receive(encodeFrames({ group }, from, [probe], { key }).frames[0]!);
  expect(metrics.messagesIn).to.equal(before + 1);
  node.tick(now + 1000);
  outgoing(node);
  return { metrics, delivered };
}

describe(`fuzz: ${ROUNDS} corrupted datagrams into each role's decode-and-handle path`, () => {
  for (const group of ['acceptors', 'proposers', 'learners', 'clients'] as const) {
    it(`${group}: nothing throws, every drop is counted`, () => {
      const { metrics, delivered } = fuzzRole(group, 1000 + group.length);
      expect(metrics.handlerErrors, 'a role threw on a well-formed message').to.equal(0);
      expect(metrics.droppedBad).to.be.greaterThan(ROUNDS / 4);
      expect(metrics.droppedWrongRole).to.be.greaterThan(0);
      expect(metrics.droppedWrongGroup).to.be.greaterThan(0);
      expect(metrics.filteredOtherMember).to.be.greaterThan(0);
      expect(delivered).to.be.greaterThan(0);
      expect(metrics.datagramsIn).to.equal(ROUNDS + 1);
    });

    it(`${group} with a shared secret: unsigned and tampered datagrams are dropped as unauthenticated`, () => {
      const { metrics, delivered } = fuzzRole(group, 2000 + group.length, 'fuzz-secret');
      expect(metrics.handlerErrors).to.equal(0);
      expect(metrics.droppedUnauthenticated).to.be.greaterThan(ROUNDS / 4);
      expect(delivered).to.be.greaterThan(0);
    });
  }
});
