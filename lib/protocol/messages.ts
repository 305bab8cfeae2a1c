/**
 * The wire vocabulary of the protocol: every message any role sends, as a discriminated union of
 * plain data (numbers, strings, arrays, Uint8Array), so any transport can clone or encode it.
 *
 * ```text
 *  Who sends what to whom (-> one group, => several groups, ~> one member)
 *
 *  Ordering a value (steady state, leader L with ballot b):
 *    client    -- submit{values}           -> proposers    (only the leader acts on it)
 *    leader    -- accept{b, i, batch}      => acceptors, learners, proposers        (2a)
 *    acceptor  -- accepted{b, i, a}        => learners, proposers                  (2b, no value)
 *    leader    -- committed{client,seq,pos} -> clients      (once the leader delivers it)
 *
 *  Taking over (phase 1 once for all instances >= from):
 *    proposer  -- prepare{b, from}         -> acceptors                            (1a)
 *    acceptor  ~~ promise{b, accepted[]}   ~> that proposer (chunked)              (1b)
 *    acceptor  ~~ nack{b, promised}        ~> a proposer whose ballot is stale
 *
 *  Liveness:
 *    proposer  -- heartbeat{id, b, decided} => proposers, learners (and acceptors, from a leader)
 *    acceptor  ~~ nack{b, promised}        ~> a leader whose ballot has been overtaken
 *    learner   -- catchup{from, to}        -> proposers    (a gap, or behind the heartbeat)
 *    leader    ~~ decided{entries}         ~> the learner (or proposer) that asked
 *
 *  Bounding memory (when `learners` is configured):
 *    learner   -- progress{delivered}      -> proposers
 *    leader    -- trim{snapshot}           => acceptors, proposers   (below every learner)
 *    leader    ~~ trimmed{snapshot}        ~> a catch-up that asked below the trim point
 * ```
 */
import { type Ballot, isBallot } from './ballot.js';

/** A role's multicast group. A message to a group reaches every member, the sender included. */
export type Group = 'clients' | 'proposers' | 'acceptors' | 'learners';
export const GROUPS: readonly Group[] = ['clients', 'proposers', 'acceptors', 'learners'];

/** Where a message goes: a whole group, or one member of it. */
export interface Destination {
  readonly group: Group;
  /** Omitted: every member of the group. */
  readonly member?: number;
}

/** What applications order. Other types travel through a codec at the API edge. */
export type Payload = string | Uint8Array;

/** One client value with its exactly-once identity. */
export interface Submission {
  /** Client incarnation key (see `nodeKey`): unique per client process lifetime. */
  readonly client: number;
  /** Per-client sequence number, from 0, never reused by that incarnation. */
  readonly seq: number;
  readonly value: Payload;
}

/** The content of one instance: client values in order. Empty = no-op (fills a hole). */
export type Batch = readonly Submission[];

export interface AcceptedEntry {
  readonly instance: number;
  readonly ballot: Ballot;
  readonly batch: Batch;
}

export interface DecidedEntry {
  readonly instance: number;
  readonly batch: Batch;
}

export interface CommitNotice {
  readonly client: number;
  readonly seq: number;
  /** 0-based index of the value in the delivered total order. */
  readonly position: number;
}

/** Exactly-once filter state of one client incarnation. */
export interface ClientMark {
  readonly client: number;
  /** Every seq below this one has been delivered. */
  readonly low: number;
  /** Seqs delivered above `low`. */
  readonly above: readonly number[];
}

/**
 * Where delivery stood just before `instance`: enough for a proposer or learner to continue from
 * there without the (trimmed) instances below it — the next position, and the duplicate filter.
 */
export interface DeliverySnapshot {
  readonly instance: number;
  readonly position: number;
  readonly clients: readonly ClientMark[];
}

export interface SubmitMessage {
  readonly type: 'submit';
  readonly client: number;
  /** Every seq below this one has completed at the client: the leader may forget them. */
  readonly completedBelow: number;
  readonly values: readonly Submission[];
}

export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  readonly from: number;
  readonly ballot: Ballot;
  readonly leading: boolean;
  /** Every instance below this one is decided, as far as the sender knows. */
  readonly decided: number;
}

export interface PrepareMessage {
  readonly type: 'prepare';
  readonly ballot: Ballot;
  /** Phase 1 covers every instance from here on. */
  readonly from: number;
}

export interface PromiseMessage {
  readonly type: 'promise';
  readonly ballot: Ballot;
  readonly acceptor: number;
  readonly from: number;
  /** The answer may be split to bound message size: chunk `chunk` of `chunks`. */
  readonly chunk: number;
  readonly chunks: number;
  readonly accepted: readonly AcceptedEntry[];
  /** The acceptor forgot every instance below this snapshot's (all decided and delivered). */
  readonly trimmed?: DeliverySnapshot;
}

export interface NackMessage {
  readonly type: 'nack';
  /** The ballot that was refused. */
  readonly ballot: Ballot;
  /** The higher ballot the acceptor has promised. */
  readonly promised: Ballot;
  readonly acceptor: number;
}

export interface AcceptMessage {
  readonly type: 'accept';
  readonly ballot: Ballot;
  readonly instance: number;
  readonly batch: Batch;
}

export interface AcceptedMessage {
  readonly type: 'accepted';
  readonly ballot: Ballot;
  readonly instance: number;
  readonly acceptor: number;
}

export interface CatchupMessage {
  readonly type: 'catchup';
  /** Who to answer. */
  readonly requester: Destination;
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
}

export interface DecidedMessage {
  readonly type: 'decided';
  readonly entries: readonly DecidedEntry[];
}

/** A learner's periodic report of how far it has delivered; gates log trimming. */
export interface ProgressMessage {
  readonly type: 'progress';
  readonly learner: number;
  readonly delivered: number;
}

/** The leader's order to forget every instance below the snapshot's. */
export interface TrimMessage {
  readonly type: 'trim';
  readonly snapshot: DeliverySnapshot;
}

/** Answer to a catch-up below the trim point: those values are gone; continue from here. */
export interface TrimmedMessage {
  readonly type: 'trimmed';
  readonly snapshot: DeliverySnapshot;
}

export interface CommittedMessage {
  readonly type: 'committed';
  readonly entries: readonly CommitNotice[];
}

export type Message =
  | SubmitMessage
  | HeartbeatMessage
  | PrepareMessage
  | PromiseMessage
  | NackMessage
  | AcceptMessage
  | AcceptedMessage
  | CatchupMessage
  | DecidedMessage
  | CommittedMessage
  | ProgressMessage
  | TrimMessage
  | TrimmedMessage;

export type MessageType = Message['type'];

/** One message a role wants sent. */
export interface Outgoing {
  readonly to: Destination;
  readonly message: Message;
}

// ---------------------------------------------------------------------------------------------
// Validation at the trust boundary. Transports that receive bytes from outside the process run
// every decoded message through `isMessage`; the roles then trust the shape.

const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isPayload = (x: unknown): x is Payload => typeof x === 'string' || x instanceof Uint8Array;

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
  return typeof e === 'object' && e !== null && isIndex(e.instance) && isBatch(e.batch);
}

function isCommitNotice(x: unknown): x is CommitNotice {
  const e = x as CommitNotice;
  return typeof e === 'object' && e !== null && isIndex(e.client) && isIndex(e.seq) && (isIndex(e.position) || e.position === -1);
}

function isSnapshot(x: unknown): x is DeliverySnapshot {
  const s = x as DeliverySnapshot;
  return typeof s === 'object' && s !== null && isIndex(s.instance) && isIndex(s.position) && Array.isArray(s.clients) &&
    s.clients.every((c) => typeof c === 'object' && c !== null && isIndex(c.client) && isIndex(c.low) &&
      Array.isArray(c.above) && c.above.every(isIndex));
}

/** Deep shape check of an untrusted message. */
export function isMessage(x: unknown): x is Message {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Message;
  switch (m.type) {
    case 'submit':
      return isIndex(m.client) && isIndex(m.completedBelow) && Array.isArray(m.values) &&
        m.values.every((s) => isSubmission(s) && s.client === m.client);
    case 'heartbeat':
      return isIndex(m.from) && isBallot(m.ballot) && typeof m.leading === 'boolean' && isIndex(m.decided);
    case 'prepare':
      return isBallot(m.ballot) && isIndex(m.from);
    case 'promise':
      return isBallot(m.ballot) && isIndex(m.acceptor) && isIndex(m.from) && isIndex(m.chunk) &&
        isIndex(m.chunks) && m.chunk < m.chunks && Array.isArray(m.accepted) && m.accepted.every(isAcceptedEntry) &&
        (m.trimmed === undefined || isSnapshot(m.trimmed));
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
      return isIndex(m.learner) && isIndex(m.delivered);
    case 'trim':
    case 'trimmed':
      return isSnapshot(m.snapshot);
    default:
      return false;
  }
}

/** Which groups a message type is meant for; anything else arriving at a role is dropped. */
export const RECEIVERS: Readonly<Record<MessageType, readonly Group[]>> = {
  submit: ['proposers'],
  heartbeat: ['proposers', 'learners', 'acceptors'],
  prepare: ['acceptors'],
  promise: ['proposers'],
  nack: ['proposers'],
  accept: ['acceptors', 'learners', 'proposers'],
  accepted: ['learners', 'proposers'],
  catchup: ['proposers'],
  decided: ['learners', 'proposers'],
  committed: ['clients'],
  progress: ['proposers'],
  trim: ['acceptors', 'proposers'],
  trimmed: ['learners', 'proposers'],
};

// ---------------------------------------------------------------------------------------------
// Sizes. Batches are bounded in bytes so that an encoded message fits one datagram.

/** Exact UTF-8 length of a string without touching Node or DOM APIs. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { bytes += 4; i++; }
    else bytes += 3;
  }
  return bytes;
}

/** Per-value framing overhead assumed by size estimates (ids, seq, length prefixes). */
export const SUBMISSION_OVERHEAD = 24;

export function payloadSize(value: Payload): number {
  return typeof value === 'string' ? utf8Length(value) : value.byteLength;
}

export function submissionSize(s: Submission): number {
  return SUBMISSION_OVERHEAD + payloadSize(s.value);
}

export function batchSize(batch: Batch): number {
  let total = 0;
  for (const s of batch) total += submissionSize(s);
  return total;
}
