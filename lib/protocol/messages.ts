/**
 * The wire vocabulary of the protocol: every message any role sends, as a discriminated union of
 * plain data (numbers, strings, arrays, Uint8Array), so any transport can clone or encode it.
 *
 * ```text
 *  Who sends what to whom (-> one group, => several groups, ~> one member)
 *
 *  Opening a session (once per client incarnation, before its first value):
 *    client    -- submit{[register nonce]} -> proposers    (ordered like a value, client 0)
 *    leader    -- registered{nonce, key}   -> clients      (the key is the session's client id)
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
 *    acceptor  ~~ trimmed{snapshot part}   ~> a leader whose 2a is below its trim point
 *
 *  Liveness:
 *    proposer  -- heartbeat{id, b, decided, quorum} => proposers, learners, acceptors
 *    acceptor  ~~ alive{a, promised}       ~> that proposer (CheckQuorum: who can reach a quorum)
 *    acceptor  ~~ nack{b, promised}        ~> a leader whose ballot has been overtaken
 *    learner   -- catchup{from, to}        -> proposers    (a gap, or behind the heartbeat)
 *    leader    ~~ decided{entries}         ~> the learner (or proposer) that asked
 *
 *  Read barriers (read index: no log write):
 *    client    -- barrier{tokens}          -> proposers    (only the leader acts on it)
 *    leader    -- confirm{b, round}        => acceptors    (still nobody above b?)
 *    acceptor  ~~ confirmed{b, a, round, promised} ~> that proposer
 *    leader    -- barrierPassed{tokens, position} -> clients (a phase-2 quorum confirmed b, and
 *                                                   the leader delivered what it had proposed)
 *
 *  Handing over (leadership transfer, once drained and the target caught up):
 *    proposer  -- transferRequest{from, to} -> proposers  (asked elsewhere: the leader acts on it)
 *    leader    ~~ takeover{from, b}        ~> the target proposer (start phase 1 now)
 *
 *  Bounding memory (when `learners` is configured):
 *    learner   -- progress{delivered, stateAt} -> proposers
 *    leader    -- trim{snapshot part}      => acceptors, proposers   (below every learner)
 *    leader    ~~ trimmed{snapshot part}   ~> a catch-up that asked below the trim point
 *  (snapshots travel in parts that fit a datagram; receivers assemble the parts of one snapshot)
 *
 *  Application state (with `stateSnapshots`: a learner behind the trim point restores a peer's):
 *    learner   -- stateRequest{atLeast, source -1} -> learners      (who holds one?)
 *    learner   ~~ stateChunk{instance, chunk 0 of n} ~> that learner (an offer with its first chunk)
 *    learner   ~~ stateRequest{source, instance, chunk} ~> the chosen source (the next window)
 *    learner   ~~ stateChunk{instance, chunk k of n}   ~> the requester
 * ```
 */
import type { Ballot } from './ballot.js';
import type { Membership } from './membership.js';

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
  /**
   * The client's session key, assigned by the log itself when the session's registration was
   * delivered (unique by construction). `REGISTRATION_CLIENT` (0): this entry registers a session;
   * then `seq` is the session's first seq and `value` the client's nonce.
   */
  readonly client: number;
  /** Per-client sequence number, never reused by that client. */
  readonly seq: number;
  readonly value: Payload;
}

/** The client id of registration entries; sessions get keys from 1 on. */
export const REGISTRATION_CLIENT = 0;

/** Commit notice position for a value whose session retired before the leader could tell: delivered at most once, never now. */
export const SESSION_EXPIRED = -2;

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
  /** The epoch it was decided in (omitted: 0): a learner takes it only if that is the instance's epoch (see membership.ts). */
  readonly epoch?: number;
}

export interface CommitNotice {
  readonly client: number;
  readonly seq: number;
  /**
   * 0-based index of the value in the delivered total order; -1: delivered, position trimmed
   * away (`UNKNOWN_POSITION`); -2: `SESSION_EXPIRED`.
   */
  readonly position: number;
}

/** Exactly-once filter state of one client session. */
export interface ClientMark {
  readonly client: number;
  /** Every seq below this one has been delivered (or precedes the session). */
  readonly low: number;
  /** Seqs delivered above `low`. */
  readonly above: readonly number[];
  /** The instance that last delivered a value of this session (or registered it): idle sessions retire. */
  readonly active: number;
}

/**
 * Where delivery stood just before `instance`: enough for a proposer or learner to continue from
 * there without the (trimmed) instances below it — the next position, and the duplicate filter.
 */
export interface DeliverySnapshot {
  readonly instance: number;
  readonly position: number;
  /** The key the next registered session gets: every key below it was issued once. */
  readonly nextClient: number;
  readonly clients: readonly ClientMark[];
  /** The membership `instance` belongs to (see membership.ts). Omitted: epoch 0's, from the options. */
  readonly membership?: Membership;
}

/**
 * One part of a snapshot as it travels: the header of the whole and a slice of its client marks
 * (a mark whose `above` is long may be spread over several parts). Parts of one snapshot share
 * `instance`; a receiver acts once it holds all `parts` of them.
 */
export interface SnapshotPart extends DeliverySnapshot {
  readonly part: number;
  readonly parts: number;
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
  /**
   * The sender recently heard from enough acceptors to lead (a phase-2 quorum while leading,
   * both quorums otherwise): only such a proposer is followed or deferred to (CheckQuorum).
   */
  readonly quorum: boolean;
}

/** An acceptor's answer to a heartbeat: it is reachable, and what it has promised. */
export interface AliveMessage {
  readonly type: 'alive';
  readonly acceptor: number;
  readonly promised: Ballot;
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
  /**
   * Which answer this chunk belongs to: the acceptor's trim point when it cut the answer. Chunk
   * boundaries move with the trim point, so only chunks with the same `cutAt` form one answer.
   */
  readonly cutAt: number;
  /** The answer may be split to bound message size: chunk `chunk` of `chunks`. */
  readonly chunk: number;
  readonly chunks: number;
  readonly accepted: readonly AcceptedEntry[];
  /**
   * A part of the snapshot the acceptor trimmed at (every instance below it is decided and
   * delivered everywhere); the answer's chunks carry all its parts.
   */
  readonly trimmed?: SnapshotPart;
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
  /** With `stateSnapshots`: the instance of the newest application state this learner holds (0: none). */
  readonly stateAt: number;
}

/** The leader's order to forget every instance below the snapshot's. */
export interface TrimMessage {
  readonly type: 'trim';
  readonly snapshot: SnapshotPart;
}

/** Those instances are gone; continue from this snapshot (the answer to a catch-up or a 2a below a trim point). */
export interface TrimmedMessage {
  readonly type: 'trimmed';
  readonly snapshot: SnapshotPart;
}

export interface CommittedMessage {
  readonly type: 'committed';
  readonly entries: readonly CommitNotice[];
}

/** A session was registered: the client that drew `nonce` submits as `client` from now on. */
export interface RegisteredMessage {
  readonly type: 'registered';
  readonly nonce: string;
  readonly client: number;
}

/** Most barrier tokens in one message: 256 of at most 64 characters fit a datagram with room to spare. */
export const MAX_BARRIER_TOKENS = 256;

/** A client asks where the log stands: answered with a position once that is confirmed (see `ReadBarriers`). */
export interface BarrierMessage {
  readonly type: 'barrier';
  /** One random token per barrier (as a nonce: 16 to 64 characters), so answers find their caller. */
  readonly tokens: readonly string[];
}

/** The leader's answer: every value decided before the barriers were asked has a position below `position`. */
export interface BarrierPassedMessage {
  readonly type: 'barrierPassed';
  readonly tokens: readonly string[];
  readonly position: number;
}

/** A leader asks the acceptors whether anyone above its ballot has been promised since `round` began. */
export interface ConfirmMessage {
  readonly type: 'confirm';
  readonly ballot: Ballot;
  readonly round: number;
}

/** An acceptor's answer to `confirm`: what it had promised when the round reached it. */
export interface ConfirmedMessage {
  readonly type: 'confirmed';
  /** The round's ballot, echoed: rounds are numbered per proposer life, ballots are unique. */
  readonly ballot: Ballot;
  readonly acceptor: number;
  readonly round: number;
  readonly promised: Ballot;
}

/** A proposer that does not lead asks the leader to hand over to `to` (see `Proposer.requestTransfer`). */
export interface TransferRequestMessage {
  readonly type: 'transferRequest';
  readonly from: number;
  readonly to: number;
}

/**
 * A learner behind the trim point asks for application state (see `StateTransfer`): with `source`
 * -1, any learner holding a state at instance `atLeast` or above offers its chunk 0; otherwise
 * `source` sends its state at `instance` from chunk `chunk` on (a window of them).
 */
export interface StateRequestMessage {
  readonly type: 'stateRequest';
  readonly requester: number;
  readonly atLeast: number;
  readonly source: number;
  readonly instance: number;
  readonly chunk: number;
}

/** Chunk `chunk` of the `chunks` that learner `learner`'s state at `instance` is cut into. */
export interface StateChunkMessage {
  readonly type: 'stateChunk';
  readonly learner: number;
  readonly instance: number;
  readonly chunk: number;
  readonly chunks: number;
  readonly data: Uint8Array;
}

/** The leader hands over: the target starts phase 1 at once (see `LeadershipTransfer`). */
export interface TakeoverMessage {
  readonly type: 'takeover';
  readonly from: number;
  /** The leader's ballot: a takeover from a deposed leader (below what the target saw) is ignored. */
  readonly ballot: Ballot;
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
  | RegisteredMessage
  | AliveMessage
  | ProgressMessage
  | TrimMessage
  | TrimmedMessage
  | BarrierMessage
  | BarrierPassedMessage
  | ConfirmMessage
  | ConfirmedMessage
  | TakeoverMessage
  | TransferRequestMessage
  | StateRequestMessage
  | StateChunkMessage;

export type MessageType = Message['type'];

/** One message a role wants sent. */
export interface Outgoing {
  readonly to: Destination;
  readonly message: Message;
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
  registered: ['clients'],
  alive: ['proposers'],
  progress: ['proposers'],
  trim: ['acceptors', 'proposers'],
  trimmed: ['learners', 'proposers'],
  barrier: ['proposers'],
  barrierPassed: ['clients'],
  confirm: ['acceptors'],
  confirmed: ['proposers'],
  takeover: ['proposers'],
  transferRequest: ['proposers'],
  stateRequest: ['learners'],
  stateChunk: ['learners'],
};

// Validation at the trust boundary and size estimates live beside this file; they are part of
// the vocabulary, so they are exported from here too.
export * from './message-validation.js';
export * from './message-size.js';
