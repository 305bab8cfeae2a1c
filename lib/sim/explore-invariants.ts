/**
 * The explorer's own checks on what acceptors answer, beyond the shared checker: an acceptor never
 * answers below a ballot of the same epoch it promised or voted for (across restarts; promises
 * are per epoch), a ballot carries one batch per instance, and at most one batch per instance and
 * epoch is ever chosen (voted by a phase-2 quorum of that epoch's members).
 */
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot } from '../protocol/ballot.js';
import type { Batch, Message, Outgoing, Payload } from '../protocol/messages.js';
import { type Membership, countMembers, epochOf } from '../protocol/membership.js';
import { InvariantViolation } from './invariants.js';

export interface VoteTally {
  /** Bit i: acceptor i voted. */
  mask: number;
  batch: string;
}

/** What the checks remember, part of a world (so cloned and hashed with it). */
export interface VoteRecords {
  /** Per acceptor, per epoch: the highest ballot it ever promised or voted for, across restarts. */
  floors: Ballot[][];
  /** Votes sent, by `instance|ballot`, and the batch each `instance|epoch` had chosen (a phase-2 quorum of members). */
  votes: Map<string, VoteTally>;
  chosen: Map<string, string>;
}

/** The membership of each epoch the explored world can reach. */
export type EpochMemberships = (epoch: number) => Membership;

/**
 * Checks the answers acceptor `id` sent while handling `handled`, against `floors`, its highest
 * ballot of each epoch before that step, and raises them.
 */
export function checkAcceptorAnswers(
  records: VoteRecords, memberships: EpochMemberships, id: number, out: readonly Outgoing[], handled: Message | undefined, floors: readonly Ballot[],
): void {
  const high = [...floors];
  for (const { message: m } of out) {
    if (m.type !== 'promise' && m.type !== 'accepted') continue;
    const epoch = epochOf(m.ballot);
    const floor = floors[epoch] ?? ZERO_BALLOT;
    if (compareBallots(m.ballot, floor) < 0) {
      throw new InvariantViolation('acceptor-monotonic',
        `acceptors/${id} sent ${m.type} for ballot ${formatBallot(m.ballot)} after promising ${formatBallot(floor)}`);
    }
    if (compareBallots(m.ballot, high[epoch] ?? ZERO_BALLOT) > 0) high[epoch] = m.ballot;
    if (m.type !== 'accepted') continue;
    if (handled?.type !== 'accept' || handled.instance !== m.instance) continue;
    countVote(records, memberships(epoch), id, m.instance, m.ballot, batchText(handled.batch));
  }
  for (let e = 0; e < high.length; e++) high[e] ??= ZERO_BALLOT;
  records.floors[id] = high;
}

function countVote(records: VoteRecords, members: Membership, id: number, instance: number, ballot: Ballot, batch: string): void {
  const voteKey = `${instance}|${formatBallot(ballot)}`;
  let tally = records.votes.get(voteKey);
  if (!tally) records.votes.set(voteKey, (tally = { mask: 0, batch }));
  if (tally.batch !== batch) {
    throw new InvariantViolation('ballot-unique', `instance ${instance} ballot ${formatBallot(ballot)} carried [${tally.batch}] and [${batch}]`);
  }
  tally.mask |= 1 << id;
  if (countMembers(members, tally.mask) < members.phase2Quorum) return;
  const chosenKey = `${instance}|${members.epoch}`;
  const known = records.chosen.get(chosenKey);
  if (known === undefined) records.chosen.set(chosenKey, batch);
  else if (known !== batch) {
    throw new InvariantViolation('chosen', `instance ${instance}: [${known}] was chosen, now a quorum at ballot ` +
      `${formatBallot(ballot)} accepted [${batch}] (epoch ${members.epoch})`);
  }
}

const batchText = (b: Batch): string => b.map((s) => `${s.client}:${s.seq}=${showPayload(s.value)}`).join(',');
const showPayload = (v: Payload): string => typeof v === 'string' ? JSON.stringify(v) : `0x${Buffer.from(v).toString('hex')}`;

