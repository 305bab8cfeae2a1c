/** Ballots for tests, built the way proposers build them. */
import { type Ballot, nodeKey } from '../../lib/protocol/ballot.js';

/** Round `round` of proposer `proposer` in its life `incarnation`. */
export const ballot = (round: number, proposer: number, incarnation = 1): Ballot => ({ round, node: nodeKey(proposer, incarnation) });
