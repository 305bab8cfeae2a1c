/** LeaderWatch: the leader a per-host process hears in heartbeats, on virtual time. */
import { expect } from 'chai';
import type { Ballot } from '../../lib/protocol/ballot.js';
import type { HeartbeatMessage } from '../../lib/protocol/messages.js';
import { LeaderWatch } from '../../lib/cluster/leader-watch.js';
import { ballot } from '../kit/ballot.js';

const beat = (from: number, b: Ballot, leading = true, quorum = true): HeartbeatMessage =>
  ({ type: 'heartbeat', from, ballot: b, leading, quorum, decided: 0 });

describe('LeaderWatch', () => {
  it('reports the leading proposer with the highest ballot, once per change, and lets silent claims lapse', () => {
    const reports: (number | undefined)[] = [];
    const watch = new LeaderWatch(100, (p) => reports.push(p));
    watch.see(beat(1, ballot(1, 1), false), 0); // not leading: no claim
    watch.see(beat(1, ballot(1, 1), true, false), 0); // leading without a quorum: a deposed leader
    expect(reports).to.deep.equal([]);
    watch.see(beat(1, ballot(1, 1)), 0);
    watch.see(beat(1, ballot(1, 1)), 50); // the same leader again: no new report
    watch.see(beat(2, ballot(2, 2)), 60); // a newer ballot wins
    watch.see(beat(1, ballot(1, 1)), 70); // the old leader has not noticed yet: still 2
    expect(reports).to.deep.equal([1, 2]);
    watch.check(159); // 2 heard 99 ms ago: still leads
    expect(reports).to.deep.equal([1, 2]);
    watch.check(160); // 2 silent for the timeout: 1 is still heard (at 70)
    watch.check(170); // and then nobody
    expect(reports).to.deep.equal([1, 2, 1, undefined]);
  });
});
