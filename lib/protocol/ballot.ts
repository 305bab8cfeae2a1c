/**
 * Ballots order the attempts of proposers to lead. A ballot is unique to one proposer
 * *incarnation*: a proposer restarted without stable storage draws a fresh incarnation, so it
 * can never reuse a ballot its earlier life already used with another value.
 *
 * Order: `round` first, then `node` (proposer id, then incarnation), so two live proposers never
 * share a ballot and the higher proposer id wins a tie of rounds.
 */
export interface Ballot {
  /** Grows by at least one every time a proposer starts phase 1. */
  readonly round: number;
  /** `proposerId * 2^42 + incarnation`: unique per proposer incarnation. */
  readonly node: number;
}

/**
 * Proposer incarnations are drawn at random (proposers keep no storage): 42 bits, so two lives of
 * one proposer id share a ballot only if they draw the same incarnation (2^-42) and reach the
 * same round.
 */
export const INCARNATION_SPACE = 2 ** 42;
/** Largest proposer id that keeps `node` an exact integer. */
export const MAX_PROPOSER_ID = 2 ** 10;

/** The ballot below every real ballot: "nothing promised / accepted yet". */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0, node: 0 });

export function nodeKey(proposerId: number, incarnation: number): number {
  return proposerId * INCARNATION_SPACE + (Math.floor(incarnation) % INCARNATION_SPACE);
}

export function proposerOf(ballot: Ballot): number {
  return Math.floor(ballot.node / INCARNATION_SPACE);
}

export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.node - b.node;
}

export function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

export function isBallot(x: unknown): x is Ballot {
  const b = x as Ballot;
  return typeof b === 'object' && b !== null && Number.isSafeInteger(b.round) && b.round >= 0 &&
    Number.isSafeInteger(b.node) && b.node >= 0;
}

export function formatBallot(b: Ballot): string {
  return `${b.round}.${proposerOf(b)}.${b.node % INCARNATION_SPACE}`;
}
