/**
 * One stable line of text for every message, durable record and delivery of the protocol core
 * (etcd raft's `DescribeMessage`). Golden files depend on these words: change them only with a
 * rewrite of the scenario files.
 */
import { type Ballot, formatBallot } from '../../../lib/protocol/ballot.js';
import type { AcceptorRecord } from '../../../lib/protocol/acceptor-state.js';
import {
  type AcceptedEntry, type Batch, type DecidedEntry, type DeliverySnapshot, type Destination, type Group, type Message, type Payload,
  type SnapshotPart, type Submission, REGISTRATION_CLIENT, SESSION_EXPIRED,
} from '../../../lib/protocol/messages.js';
import { UNKNOWN_POSITION } from '../../../lib/protocol/proposer.js';
import type { Completion, Delivery, DeliveryGap } from '../../../lib/protocol/role.js';

export const PREFIXES: Readonly<Record<Group, string>> = { proposers: 'p', acceptors: 'a', learners: 'l', clients: 'c' };

/** `p1`, `a0`, `l0`, `c2`. */
export const nodeName = (group: Group, id: number): string => `${PREFIXES[group]}${id}`;

/** A member's name, or the group's for a multicast. */
export const describeDestination = (d: Destination): string => (d.member === undefined ? d.group : nodeName(d.group, d.member));

const b = (ballot: Ballot): string => formatBallot(ballot);

export function describePayload(v: Payload): string {
  return typeof v === 'string' ? JSON.stringify(v) : `0x${Buffer.from(v).toString('hex')}`;
}

/** `1.0="v1"` (session key . seq = value), or `register(<nonce>)` for a session registration. */
export function describeSubmission(s: Submission): string {
  if (s.client === REGISTRATION_CLIENT) return `register(${String(s.value)}${s.seq > 0 ? ` first=${s.seq}` : ''})`;
  return `${s.client}.${s.seq}=${describePayload(s.value)}`;
}

/** `[1.0="a" 1.1="b"]`, or `noop` for the empty batch that fills a hole. */
export const describeBatch = (batch: Batch): string => (batch.length === 0 ? 'noop' : `[${batch.map(describeSubmission).join(' ')}]`);

export function describePosition(position: number): string {
  if (position === SESSION_EXPIRED) return 'SESSION_EXPIRED';
  return position === UNKNOWN_POSITION ? 'unknown' : String(position);
}

export function describeSnapshot(s: DeliverySnapshot | SnapshotPart): string {
  const sessions = s.clients.map((c) => `${c.client}:low=${c.low}${c.above.length ? ` above=${c.above.join(',')}` : ''} active=${c.active}`);
  const part = 'parts' in s && s.parts > 1 ? ` part=${s.part}/${s.parts}` : '';
  return `snapshot(i=${s.instance} pos=${s.position} next=${s.nextClient} sessions=[${sessions.join(' ')}]${part})`;
}

const entry = (e: AcceptedEntry | DecidedEntry): string =>
  `i${e.instance}${'ballot' in e ? `@${b(e.ballot)}` : ''} ${describeBatch(e.batch)}`;

export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'submit':
      return m.client === REGISTRATION_CLIENT
        ? `submit ${m.values.map(describeSubmission).join(' ')}`
        : `submit ${describeBatch(m.values)}${m.completedBelow > 0 ? ` below=${m.completedBelow}` : ''}`;
    case 'heartbeat':
      return `heartbeat ${b(m.ballot)} ${m.leading ? 'leading' : 'not-leading'} decided=${m.decided} ${m.quorum ? 'quorum' : 'no-quorum'}`;
    case 'alive': return `alive promised=${b(m.promised)}`;
    case 'prepare': return `prepare ${b(m.ballot)} from=${m.from}`;
    case 'promise': {
      // The chunking of an answer is shown when there is any (more than one chunk, or a trim point).
      const chunking = m.chunks > 1 || m.cutAt > 0 ? ` cutAt=${m.cutAt} chunk=${m.chunk}/${m.chunks}` : '';
      const accepted = m.accepted.length ? ` accepted=(${m.accepted.map(entry).join(', ')})` : '';
      const trimmed = m.trimmed ? ` trimmed=${describeSnapshot(m.trimmed)}` : '';
      return `promise ${b(m.ballot)} from=${m.from}${chunking}${accepted}${trimmed}`;
    }
    case 'nack': return `nack ${b(m.ballot)} promised=${b(m.promised)}`;
    case 'accept': return `accept ${b(m.ballot)} i=${m.instance} ${describeBatch(m.batch)}`;
    case 'accepted': return `accepted ${b(m.ballot)} i=${m.instance}`;
    case 'catchup': return `catchup i=${m.from}..${m.to} for=${describeDestination(m.requester)}`;
    case 'decided': return `decided (${m.entries.map(entry).join(', ')})`;
    case 'committed': return `committed ${m.entries.map((e) => `${e.client}.${e.seq}@${describePosition(e.position)}`).join(' ')}`;
    case 'registered': return `registered ${m.nonce} key=${m.client}`;
    case 'progress': return `progress delivered=${m.delivered}${m.stateAt ? ` stateAt=${m.stateAt}` : ''}`;
    case 'trim': return `trim ${describeSnapshot(m.snapshot)}`;
    case 'trimmed': return `trimmed ${describeSnapshot(m.snapshot)}`;
    case 'barrier': return `barrier ${m.tokens.join(' ')}`;
    case 'barrierPassed': return `barrierPassed ${m.tokens.join(' ')} position=${m.position}`;
    case 'confirm': return `confirm ${b(m.ballot)} round=${m.round}`;
    case 'confirmed': return `confirmed round=${m.round} promised=${b(m.promised)}`;
    case 'takeover': return `takeover from=${m.from} ${b(m.ballot)}`;
    case 'transferRequest': return `transferRequest from=${m.from} to=${m.to}`;
    case 'stateRequest': return `stateRequest atLeast=${m.atLeast} source=${m.source} i=${m.instance} chunk=${m.chunk}`;
    case 'stateChunk': return `stateChunk from=${m.learner} i=${m.instance} chunk=${m.chunk}/${m.chunks} bytes=${m.data.byteLength}`;
  }
}

export function describeRecord(r: AcceptorRecord): string {
  switch (r.kind) {
    case 'promise': return `promise ${b(r.ballot)}`;
    case 'accept': return `accept ${b(r.ballot)} i=${r.instance} ${describeBatch(r.batch)}`;
    case 'trim': return `trim ${describeSnapshot(r.snapshot)}`;
  }
}

export const describeDelivery = (d: Delivery): string =>
  `pos=${d.position} i=${d.instance} ${describeSubmission(d)}`;

export const describeGap = (g: DeliveryGap): string =>
  `i=${g.fromInstance}..${g.toInstance} pos=${g.fromPosition}..${g.toPosition}`;

export const describeCompletion = (c: Completion): string => `seq=${c.seq} pos=${describePosition(c.position)}`;
