/** The broadcast checker of the test kit: it must catch planted violations, or the tests that use it prove nothing. */
import { expect } from 'chai';
import type { LearnedValue } from '../../lib/index.js';
import { checkBroadcast, totalOrderProblems } from './total-order.js';

describe('the total-order checker itself', () => {
  const lv = (position: number, value: string): LearnedValue<string> => ({ position, value, instance: 0, client: 0, seq: position });
  it('catches disagreement, duplicates, gaps, invented and missing values', () => {
    const good = [lv(0, 'a'), lv(1, 'b')];
    expect(() => checkBroadcast([good, good], ['a', 'b'])).to.not.throw();
    expect(() => checkBroadcast([good, [lv(0, 'b'), lv(1, 'a')]], ['a', 'b'])).to.throw(/agreement/);
    expect(() => checkBroadcast([[lv(0, 'a'), lv(1, 'a')]], ['a'])).to.throw(/exactly-once/);
    expect(() => checkBroadcast([[lv(0, 'a'), lv(2, 'b')]], ['a', 'b'])).to.throw(/positions/);
    expect(() => checkBroadcast([[lv(0, 'a'), lv(1, 'z')]], ['a', 'b'])).to.throw(/validity/);
    expect(() => checkBroadcast([[lv(0, 'a')]], ['a', 'b'])).to.throw(/completeness/);
    expect(() => checkBroadcast([good], ['a', 'b'], new Map([['a', 1]]))).to.throw(/position/);
    // Over printed lines, where a value may be submitted more than once: counted per submission;
    // where not everything could be decided, learners need only agree on the prefix they share.
    const lines = (learned: string[][], complete: boolean, submitted = ['7', '7', '9']) => totalOrderProblems({ learned, submitted, complete, firstLearnerId: 1 });
    expect(lines([['7', '9', '7'], ['7', '9', '7']], true)).to.deep.equal([]);
    expect(lines([['7', '9', '7', '7'], ['7', '9', '7']], true).join()).to.match(/agreement: learner 1 delivered 4 values, learner 2 3/).and.match(/exactly-once: learner 1/);
    expect(lines([['7', '9'], ['7', '9', '7']], true).join()).to.match(/completeness: learner 1 is missing 1 of 3/);
    expect(lines([['7', '9'], ['7']], false)).to.deep.equal([]);
    expect(lines([['7', '9'], ['9']], false)).to.deep.equal(['agreement: learner 2 delivered "9" at index 0, learner 1 "7"']);
  });
});
