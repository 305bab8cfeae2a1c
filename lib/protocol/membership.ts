/**
 * Membership change by stop-sign (as OmniPaxos and Vertical Paxos; see docs/membership.md): the
 * log is cut into *epochs*, each a plain Multi-Paxos over its own set of acceptors. A
 * reconfiguration entry for epoch e+1, decided at instance s of epoch e, is the stop-sign: epoch e
 * ends at s, and epoch e+1 starts at s + 1 with its acceptors, its quorums and its own phase 1.
 *
 * Three rules make it safe, and each is one check where quorums are counted:
 * - **The epoch is in the ballot**, in the high bits of its round, so every ballot of epoch e+1 is
 *   above every ballot of epoch e: acceptors (which know nothing of memberships) promise a new
 *   epoch's leader over any old one, and a proposer still in epoch e can never again win an
 *   acceptor that joined epoch e+1.
 * - **Quorums count members only**: promises, votes and confirmations of a ballot count among the
 *   acceptors of that ballot's epoch.
 * - **Instances above a stop-sign are void in the old epoch**: learners deliver in order, so each
 *   knows an instance's epoch from the prefix it delivered, and takes a decision only in it.
 *   Values proposed there by a leader that had not heard of the stop-sign are simply never
 *   delivered; their clients resend, and the exactly-once filter makes that safe.
 */
import type { Ballot } from './ballot.js';
import { ConfigurationError, type ResolvedOptions } from './options.js';
import type { Submission } from './messages.js';

/** The acceptors of one epoch and their quorums. */
export interface Membership {
  readonly epoch: number;
  /** Bit i set: acceptor i is a member. */
  readonly acceptors: number;
  readonly phase1Quorum: number;
  readonly phase2Quorum: number;
}

/** Rounds per epoch: a ballot's round is `epoch * EPOCH_ROUNDS + round within the epoch`. */
export const EPOCH_ROUNDS = 2 ** 32;
/** Most epochs a deployment can go through (keeps rounds exact integers). */
export const MAX_EPOCH = 2 ** 20;

/**
 * The client id of reconfiguration entries (never a session key: keys are issued from 1 up, one
 * per registration). Such an entry's `seq` is the epoch it starts, its value the membership.
 */
export const RECONFIGURATION_CLIENT = Number.MAX_SAFE_INTEGER;

export function epochOf(ballot: Ballot): number {
  return Math.floor(ballot.round / EPOCH_ROUNDS);
}

/** The lowest round of `epoch` (its first ballot is above every ballot of earlier epochs). */
export function firstRoundOf(epoch: number): number {
  return epoch * EPOCH_ROUNDS + 1;
}

export function isMember(m: Membership, acceptor: number): boolean {
  return acceptor < 31 && (m.acceptors & (1 << acceptor)) !== 0;
}

/** How many of the acceptors in `mask` are members. */
export function countMembers(m: Membership, mask: number): number {
  let bits = (mask & m.acceptors) >>> 0;
  let n = 0;
  for (; bits !== 0; bits &= bits - 1) n++;
  return n;
}

export function memberIds(m: Membership): number[] {
  const ids: number[] = [];
  for (let a = 0; a < 31; a++) if (isMember(m, a)) ids.push(a);
  return ids;
}

/** What a caller asks for: the acceptors of the next epoch, and optionally its quorums (default majorities). */
export interface MembershipRequest {
  readonly acceptors: readonly number[];
  readonly phase1Quorum?: number;
  readonly phase2Quorum?: number;
}

/**
 * Check `request` against the acceptor slots (ids 0..slots-1) and make it epoch `epoch`.
 * Throws `ConfigurationError` for an empty or unknown set, or quorums that could miss each other.
 */
export function resolveMembership(request: MembershipRequest, slots: number, epoch: number): Membership {
  const ids = request.acceptors;
  if (!Array.isArray(ids) || ids.length === 0) throw new ConfigurationError('a membership needs at least one acceptor');
  let mask = 0;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= slots) throw new ConfigurationError(`acceptor ${String(id)} is not one of the ${slots} acceptor slots (0..${slots - 1})`);
    if (mask & (1 << id)) throw new ConfigurationError(`acceptor ${id} is listed twice`);
    mask |= 1 << id;
  }
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new ConfigurationError(`epoch must be an integer from 0 to ${MAX_EPOCH}`);
  const n = ids.length;
  const majority = Math.floor(n / 2) + 1;
  const quorum = (name: string, v: number | undefined): number => {
    const q = v ?? majority;
    if (!Number.isInteger(q) || q < 1 || q > n) throw new ConfigurationError(`${name} must be an integer from 1 to ${n}, got ${String(v)}`);
    return q;
  };
  const phase1Quorum = quorum('phase1Quorum', request.phase1Quorum);
  const phase2Quorum = quorum('phase2Quorum', request.phase2Quorum);
  if (phase1Quorum + phase2Quorum <= n) {
    throw new ConfigurationError(`phase1Quorum (${phase1Quorum}) + phase2Quorum (${phase2Quorum}) must exceed the ${n} acceptors of the membership`);
  }
  return { epoch, acceptors: mask >>> 0, phase1Quorum, phase2Quorum };
}

/** The log entry that starts `next.epoch` once decided in epoch `next.epoch - 1` (the stop-sign). */
export function reconfigurationEntry(next: Membership): Submission {
  return {
    client: RECONFIGURATION_CLIENT, seq: next.epoch,
    value: `${next.acceptors >>> 0} ${next.phase1Quorum} ${next.phase2Quorum}`,
  };
}

/** The membership a reconfiguration entry starts, or undefined for anything else (or a malformed one). */
export function membershipOf(s: Submission): Membership | undefined {
  if (s.client !== RECONFIGURATION_CLIENT || typeof s.value !== 'string') return undefined;
  const parts = s.value.split(' ').map(Number);
  if (parts.length !== 3 || !parts.every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
  const [acceptors, phase1Quorum, phase2Quorum] = parts as [number, number, number];
  if (acceptors === 0 || acceptors >= 2 ** 31 || phase1Quorum < 1 || phase2Quorum < 1) return undefined;
  const m: Membership = { epoch: s.seq, acceptors, phase1Quorum, phase2Quorum };
  const n = countMembers(m, acceptors);
  return phase1Quorum <= n && phase2Quorum <= n && phase1Quorum + phase2Quorum > n ? m : undefined;
}

/** The stop-sign of `current` in `batch`, if any: the first reconfiguration entry for the next epoch. */
export function stopSignIn(batch: readonly Submission[], current: Membership): Membership | undefined {
  for (const s of batch) {
    if (s.client !== RECONFIGURATION_CLIENT || s.seq !== current.epoch + 1) continue;
    const next = membershipOf(s);
    if (next) return next;
  }
  return undefined;
}

export function sameMembership(a: Membership, b: Membership): boolean {
  return a.epoch === b.epoch && a.acceptors === b.acceptors && a.phase1Quorum === b.phase1Quorum && a.phase2Quorum === b.phase2Quorum;
}

export function formatMembership(m: Membership): string {
  return `epoch ${m.epoch}: acceptors ${memberIds(m).join(',')} (q1 ${m.phase1Quorum}, q2 ${m.phase2Quorum})`;
}

/** Epoch 0: `initialAcceptors` with the configured quorums. */
export function initialMembership(options: ResolvedOptions): Membership {
  let acceptors = 0;
  for (const id of options.initialAcceptors) acceptors |= 1 << id;
  return { epoch: 0, acceptors: acceptors >>> 0, phase1Quorum: options.phase1Quorum, phase2Quorum: options.phase2Quorum };
}
