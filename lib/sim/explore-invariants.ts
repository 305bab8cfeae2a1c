/**
 * The explorer's own checks on what acceptors answer, beyond the shared checker: an acceptor never
 * answers below a ballot it promised or voted for (across restarts), a ballot carries one batch
 * per instance, and at most one batch per instance is ever chosen (voted by a phase-2 quorum).
 */
import { type Ballot, compareBallots, formatBallot } from '../protocol/ballot.js';
import type { Batch, Message, Outgoing, Payload } from '../protocol/messages.js';
import { InvariantViolation } from './invariants.js';

export interface VoteTally {
  /** Bit i: acceptor i voted. */
  mask: number;
  batch: string;
}

/** What the checks remember, part of a world (so cloned and hashed with it). */
export interface VoteRecords {
  /** Per acceptor: the highest ballot it ever promised or voted for, across restarts. */
  floors: Ballot[];
  /** Votes sent, by `instance|ballot`, and the batch each instance had chosen (a phase-2 quorum). */
  votes: Map<string, VoteTally>;
  chosen: Map<number, string>;
}

/**
 * Checks the answers acceptor `id` sent while handling `handled`, against `floor`, its highest
 * ballot before that step, and raises its floor.
 */
export function checkAcceptorAnswers(
  records: VoteRecords, phase2Quorum: number, id: number, out: readonly Outgoing[], handled: Message | undefined, floor: Ballot,
): void {
  let high = floor;
  for (const { message: m } of out) {
    if (m.type !== 'promise' && m.type !== 'accepted') continue;
    if (compareBallots(m.ballot, floor) < 0) {
      throw new InvariantViolation('acceptor-monotonic',
        `acceptors/${id} sent ${m.type} for ballot ${formatBallot(m.ballot)} after promising ${formatBallot(floor)}`);
    }
    if (compareBallots(m.ballot, high) > 0) high = m.ballot;
    if (m.type !== 'accepted') continue;
    if (handled?.type !== 'accept' || handled.instance !== m.instance) continue;
    countVote(records, phase2Quorum, id, m.instance, m.ballot, batchText(handled.batch));
  }
  records.floors[id] = high;
}

function countVote(records: VoteRecords, phase2Quorum: number, id: number, instance: number, ballot: Ballot, batch: string): void {
  const voteKey = `${instance}|${formatBallot(ballot)}`;
  let tally = records.votes.get(voteKey);
  if (!tally) records.votes.set(voteKey, (tally = { mask: 0, batch }));
  if (tally.batch !== batch) {
    throw new InvariantViolation('ballot-unique', `instance ${instance} ballot ${formatBallot(ballot)} carried [${tally.batch}] and [${batch}]`);
  }
  tally.mask |= 1 << id;
  if (popcount(tally.mask) < phase2Quorum) return;
  const known = records.chosen.get(instance);
  if (known === undefined) records.chosen.set(instance, batch);
  else if (known !== batch) {
    throw new InvariantViolation('chosen', `instance ${instance}: [${known}] was chosen, now a quorum at ballot ` +
      `${formatBallot(ballot)} accepted [${batch}]`);
  }
}

const batchText = (b: Batch): string => b.map((s) => `${s.client}:${s.seq}=${showPayload(s.value)}`).join(',');
const showPayload = (v: Payload): string => typeof v === 'string' ? JSON.stringify(v) : `0x${Buffer.from(v).toString('hex')}`;

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}
