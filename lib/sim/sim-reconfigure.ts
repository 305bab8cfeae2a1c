/**
 * The run's membership changes (`Scenario.reconfigurations`): each is asked, from its time on,
 * through a live proposer whose log has reached the epoch before it, and asked again every
 * `clientRetryMs` (a request is a submission: it can be lost, duplicated, or reach a proposer
 * that no longer leads) until some proposer's log crossed into the new epoch. One change at a
 * time; a change drawn with a rival is also asked, with majority quorums, by another proposer, so
 * two stop-signs for one epoch race and the log decides which holds (the checker derives what
 * holds from what was chosen, never from what was asked).
 */
import type { Reconfiguration } from './scenario.js';
import type { SimContext } from './sim-context.js';
import { type SimNodes, isStalled } from './slots.js';

export class SimReconfigurations {
  /** The change being asked for: it starts epoch `next + 1`. */
  private next = 0;

  constructor(private readonly ctx: SimContext, private readonly nodes: SimNodes, private readonly changes: readonly Reconfiguration[]) {}

  /** Every change took effect. */
  get done(): boolean {
    return this.next >= this.changes.length;
  }

  /** What is still to happen, for a liveness report. */
  describe(): string {
    return this.done ? '' : `membership change ${this.next + 1} of ${this.changes.length} not in effect`;
  }

  start(): void {
    if (this.changes.length) this.ctx.queue.push({ time: this.changes[0]!.at, kind: 'reconfigure' });
  }

  step(): void {
    const change = this.changes[this.next];
    if (!change) return;
    const now = this.ctx.now;
    const target = this.next + 1;
    const live = this.nodes.group('proposers').filter((s) => s.proposer && s.host && !isStalled(s, now));
    if (live.some((s) => s.proposer!.learner.membership.epoch >= target)) {
      this.ctx.remember({ time: now, kind: 'note', detail: `epoch ${target} holds: acceptors ${change.acceptors.join(',')}` });
      this.next++;
      const following = this.changes[this.next];
      if (following) this.ctx.queue.push({ time: Math.max(now, following.at), kind: 'reconfigure' });
      return;
    }
    const asker = live.find((s) => s.proposer!.learner.membership.epoch === target - 1);
    if (asker) {
      this.ctx.remember({ time: now, kind: 'note', detail: `${asker.name} asks for epoch ${target}: acceptors ${change.acceptors.join(',')}` });
      asker.host!.act(asker.proposer!, (p) => p.requestReconfiguration(change));
    }
    const rival = change.rival ? live.filter((s) => s !== asker && s.proposer!.learner.membership.epoch === target - 1).pop() ?? asker : undefined;
    if (rival) {
      this.ctx.remember({ time: now, kind: 'note', detail: `${rival.name} asks for epoch ${target} too, with majorities` });
      rival.host!.act(rival.proposer!, (p) => p.requestReconfiguration({ acceptors: change.acceptors }));
    }
    this.ctx.queue.push({ time: now + this.ctx.options.clientRetryMs, kind: 'reconfigure' });
  }
}
