/** RecentPositions: the leader's memory of where each client's recent values were delivered. */
import { expect } from 'chai';
import { RecentPositions } from '../../lib/protocol/recent-positions.js';

describe('RecentPositions', () => {
  it('finds what was added, forgets below a seq, and drops a client that has nothing left', () => {
    const r = new RecentPositions();
    for (let seq = 0; seq < 5000; seq++) r.add(7, seq, 10 * seq); // grows past the first ring
    r.add(7, 5001, 1); // out of order: 5000 not yet delivered
    expect(r.find(7, 0)).to.equal(0);
    expect(r.find(7, 4999)).to.equal(49_990);
    expect(r.find(7, 5000)).to.equal(undefined);
    expect(r.find(7, 5001)).to.equal(1);
    expect(r.find(8, 0)).to.equal(undefined);
    r.forgetBelow(7, 4000);
    expect(r.find(7, 3999)).to.equal(undefined);
    expect(r.find(7, 4000)).to.equal(40_000);
    r.add(7, 10, 5); // below what the client confirmed: never asked again
    expect(r.find(7, 10)).to.equal(undefined);
    r.forgetBelow(7, 5002);
    expect(r.find(7, 5001)).to.equal(undefined);
  });

  it('keeps the newest 131,072 seqs of a client', () => {
    const r = new RecentPositions();
    const n = (1 << 17) + 1000;
    for (let seq = 0; seq < n; seq++) r.add(1, seq, seq + 1);
    expect(r.find(1, 999)).to.equal(undefined);
    expect(r.find(1, 1000)).to.equal(1001);
    expect(r.find(1, n - 1)).to.equal(n);
  });

  it('works for seqs beyond 32 bits', () => {
    const r = new RecentPositions();
    const base = 2 ** 40;
    for (let i = 0; i < 3000; i++) r.add(2, base + i, i);
    expect(r.find(2, base + 2999)).to.equal(2999);
    expect(r.find(2, base)).to.equal(0);
  });
});
