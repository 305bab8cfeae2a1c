/**
 * The atomic broadcast checks over what learners delivered, for every kind of test that ends with
 * learners' outputs: worker-thread clusters (`checkBroadcast` over `learned()` values) and the
 * `paxos` processes of the end-to-end scenarios (`totalOrderProblems` over printed lines).
 */
import { expect } from 'chai';
import type { LearnedValue } from '../../lib/index.js';

export interface TotalOrderRun<T> {
  /** What each learner delivered, in order. */
  learned: readonly (readonly T[])[];
  /** Every submission's value; a value submitted twice may be delivered twice. */
  submitted: readonly T[];
  /**
   * Every submission must have been delivered. False where no quorum could decide everything:
   * then the learners need only agree on the prefix they share.
   */
  complete: boolean;
  /** The id of `learned[0]` in problems (learners are numbered from 0 in a cluster, from 1 on a command line). */
  firstLearnerId?: number;
}

function counts<T>(values: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * The problems of a run (empty: all good), each starting with the property it breaks:
 * - agreement: every learner delivered the same values in the same order (when not `complete`,
 *   each learner agrees with learner 0 on the prefix they both delivered);
 * - validity: every delivered value was submitted;
 * - exactly-once: no value was delivered more often than it was submitted;
 * - completeness (when `complete`): every submission was delivered, by every learner.
 */
export function totalOrderProblems<T>(run: TotalOrderRun<T>): string[] {
  const id = (i: number): string => `learner ${i + (run.firstLearnerId ?? 0)}`;
  const problems: string[] = [];
  const [reference = [], ...others] = run.learned;
  others.forEach((other, o) => {
    const i = o + 1;
    const common = Math.min(reference.length, other.length);
    let k = 0;
    while (k < common && other[k] === reference[k]) k++;
    if (k < common) problems.push(`agreement: ${id(i)} delivered ${show(other[k])} at index ${k}, ${id(0)} ${show(reference[k])}`);
    else if (run.complete && other.length !== reference.length) {
      problems.push(`agreement: ${id(0)} delivered ${reference.length} values, ${id(i)} ${other.length}`);
    }
  });
  const submitted = counts(run.submitted);
  run.learned.forEach((values, i) => {
    const got = new Map<T, number>();
    const invented: T[] = [];
    const repeated: T[] = [];
    for (const v of values) {
      const n = (got.get(v) ?? 0) + 1;
      got.set(v, n);
      const allowed = submitted.get(v) ?? 0;
      if (allowed === 0) invented.push(v);
      else if (n > allowed) repeated.push(v);
    }
    if (invented.length) problems.push(`validity: ${id(i)} delivered ${invented.length} value(s) never submitted, e.g. ${show(invented[0])}`);
    if (repeated.length) problems.push(`exactly-once: ${id(i)} delivered ${repeated.length} value(s) more often than submitted, e.g. ${show(repeated[0])}`);
    if (run.complete) {
      let missing = 0;
      const examples: T[] = [];
      for (const [v, n] of submitted) {
        const short = n - (got.get(v) ?? 0);
        if (short <= 0) continue;
        missing += short;
        if (examples.length < 5) examples.push(v);
      }
      if (missing) {
        problems.push(`completeness: ${id(i)} is missing ${missing} of ${run.submitted.length} submitted values, e.g. ${examples.map(show).join(', ')}`);
      }
    }
  });
  return problems;
}

/**
 * `totalOrderProblems` (complete) over what a cluster's learners delivered through `learned()`
 * from position 0, plus: positions run 0..n-1 without gaps, and every position a `submit`
 * resolved with (`positions`: value to position) holds that value. Fails the test on a problem.
 */
export function checkBroadcast<T>(sequences: readonly (readonly LearnedValue<T>[])[], submitted: readonly T[], positions?: ReadonlyMap<T, number>): void {
  sequences.forEach((sequence, l) => {
    const gap = sequence.findIndex((v, i) => v.position !== i);
    if (gap >= 0) expect.fail(`positions: learner ${l} index ${gap} carries position ${sequence[gap]!.position}`);
  });
  const problems = totalOrderProblems({ learned: sequences.map((s) => s.map((v) => v.value)), submitted, complete: true });
  if (problems.length) expect.fail(problems.join('\n'));
  if (positions) {
    const reference = sequences[0]!;
    for (const [value, position] of positions) {
      if (reference[position]?.value !== value) expect.fail(`submit resolved ${show(value)} with position ${position}, which holds ${show(reference[position]?.value)}`);
    }
  }
}
