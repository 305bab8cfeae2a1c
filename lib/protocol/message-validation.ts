/**
 * Validation at the trust boundary: transports that receive bytes from outside the process run
 * every decoded message through `isMessage`; the roles then trust the shape.
 */
import type { Membership } from './membership.js';
import type { Payload, Submission, Batch, Group, Destination, AcceptedEntry, DecidedEntry, CommitNotice, DeliverySnapshot, SnapshotPart, Message } from './messages.js';
import { GROUPS, MAX_BARRIER_TOKENS, REGISTRATION_CLIENT, SESSION_EXPIRED } from './messages.js';
import { isBallot } from './ballot.js';

const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isPayload = (x: unknown): x is Payload => typeof x === 'string' || x instanceof Uint8Array;

/** The client nonce of a registration entry: 16 to 64 characters. */
export function isNonce(x: unknown): x is string {
  return typeof x === 'string' && x.length >= 16 && x.length <= 64;
}

export function isSubmission(x: unknown): x is Submission {
  const s = x as Submission;
  return typeof s === 'object' && s !== null && isIndex(s.client) && isIndex(s.seq) && isPayload(s.value);
}

export function isBatch(x: unknown): x is Batch {
  return Array.isArray(x) && x.every(isSubmission);
}

export function isGroup(x: unknown): x is Group {
  return typeof x === 'string' && (GROUPS as readonly string[]).includes(x);
}

function isDestination(x: unknown): x is Destination {
  const d = x as Destination;
  return typeof d === 'object' && d !== null && isGroup(d.group) && (d.member === undefined || isIndex(d.member));
}

function isAcceptedEntry(x: unknown): x is AcceptedEntry {
  const e = x as AcceptedEntry;
  return typeof e === 'object' && e !== null && isIndex(e.instance) && isBallot(e.ballot) && isBatch(e.batch);
}

function isDecidedEntry(x: unknown): x is DecidedEntry {
  const e = x as DecidedEntry;
  return typeof e === 'object' && e !== null && isIndex(e.instance) && isBatch(e.batch) && (e.epoch === undefined || isIndex(e.epoch));
}

function isMembership(x: unknown): boolean {
  const m = x as Membership;
  return typeof m === 'object' && m !== null && isIndex(m.epoch) && isIndex(m.acceptors) && m.acceptors >= 1 && m.acceptors < 2 ** 31 &&
    isIndex(m.phase1Quorum) && m.phase1Quorum >= 1 && isIndex(m.phase2Quorum) && m.phase2Quorum >= 1;
}

function isCommitNotice(x: unknown): x is CommitNotice {
  const e = x as CommitNotice;
  return typeof e === 'object' && e !== null && isIndex(e.client) && isIndex(e.seq) &&
    (isIndex(e.position) || e.position === -1 || e.position === SESSION_EXPIRED);
}

export function isSnapshot(x: unknown): x is DeliverySnapshot {
  const s = x as DeliverySnapshot;
  return typeof s === 'object' && s !== null && isIndex(s.instance) && isIndex(s.position) && isIndex(s.nextClient) &&
    s.nextClient >= 1 && (s.membership === undefined || isMembership(s.membership)) && Array.isArray(s.clients) &&
    s.clients.every((c) => typeof c === 'object' && c !== null && isIndex(c.client) && c.client >= 1 && isIndex(c.low) &&
      isIndex(c.active) && Array.isArray(c.above) && c.above.every(isIndex));
}

function isSnapshotPart(x: unknown): x is SnapshotPart {
  const s = x as SnapshotPart;
  return isSnapshot(s) && isIndex(s.part) && isIndex(s.parts) && s.part < s.parts;
}

function isTokens(x: unknown): x is readonly string[] {
  return Array.isArray(x) && x.length > 0 && x.length <= MAX_BARRIER_TOKENS && x.every(isNonce);
}

/** Deep shape check of an untrusted message. */
export function isMessage(x: unknown): x is Message {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Message;
  switch (m.type) {
    case 'submit':
      return isIndex(m.client) && isIndex(m.completedBelow) && Array.isArray(m.values) &&
        m.values.every((s) => isSubmission(s) && s.client === m.client && (s.client !== REGISTRATION_CLIENT || isNonce(s.value)));
    case 'heartbeat':
      return isIndex(m.from) && isBallot(m.ballot) && typeof m.leading === 'boolean' && isIndex(m.decided) &&
        typeof m.quorum === 'boolean';
    case 'alive':
      return isIndex(m.acceptor) && isBallot(m.promised);
    case 'registered':
      return isNonce(m.nonce) && isIndex(m.client) && m.client >= 1;
    case 'prepare':
      return isBallot(m.ballot) && isIndex(m.from);
    case 'promise':
      return isBallot(m.ballot) && isIndex(m.acceptor) && isIndex(m.from) && isIndex(m.cutAt) && isIndex(m.chunk) &&
        isIndex(m.chunks) && m.chunk < m.chunks && Array.isArray(m.accepted) && m.accepted.every(isAcceptedEntry) &&
        (m.trimmed === undefined || isSnapshotPart(m.trimmed));
    case 'nack':
      return isBallot(m.ballot) && isBallot(m.promised) && isIndex(m.acceptor);
    case 'accept':
      return isBallot(m.ballot) && isIndex(m.instance) && isBatch(m.batch);
    case 'accepted':
      return isBallot(m.ballot) && isIndex(m.instance) && isIndex(m.acceptor);
    case 'catchup':
      return isDestination(m.requester) && isIndex(m.from) && isIndex(m.to);
    case 'decided':
      return Array.isArray(m.entries) && m.entries.every(isDecidedEntry);
    case 'committed':
      return Array.isArray(m.entries) && m.entries.every(isCommitNotice);
    case 'progress':
      return isIndex(m.learner) && isIndex(m.delivered) && isIndex(m.stateAt);
    case 'stateRequest':
      return isIndex(m.requester) && isIndex(m.atLeast) && Number.isSafeInteger(m.source) && m.source >= -1 &&
        isIndex(m.instance) && isIndex(m.chunk);
    case 'stateChunk':
      return isIndex(m.learner) && isIndex(m.instance) && isIndex(m.chunk) && isIndex(m.chunks) && m.chunk < m.chunks &&
        m.data instanceof Uint8Array;
    case 'trim':
    case 'trimmed':
      return isSnapshotPart(m.snapshot);
    case 'barrier':
      return isTokens(m.tokens);
    case 'barrierPassed':
      return isTokens(m.tokens) && isIndex(m.position);
    case 'confirm':
      return isBallot(m.ballot) && isIndex(m.round);
    case 'takeover':
      return isIndex(m.from) && isBallot(m.ballot);
    case 'transferRequest':
      return isIndex(m.from) && isIndex(m.to);
    case 'confirmed':
      return isBallot(m.ballot) && isIndex(m.acceptor) && isIndex(m.round) && isBallot(m.promised);
    default:
      return false;
  }
}

