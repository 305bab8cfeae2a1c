/** Readable histories of explored paths: a path re-run from the root with every action traced. */
import type { ExploreOptions } from './explore-options.js';
import { InvariantViolation } from './invariants.js';
import { type Action, World } from './world.js';

/** Re-run a path from the root, recording what every action did, ending with the violation. */
export function replay(config: ExploreOptions, warmup: readonly Action[], path: readonly Action[]): string[] {
  const w = World.initial(config);
  for (const a of warmup) {
    if (a.kind === 'advance') w.budget.ticks++;
    w.apply(a);
  }
  const lines = [`warm-up: ${warmup.length} fault-free FIFO steps, to t=${w.now} ms` +
    (w.proposers.some((p) => p.isLeader) ? `, leader proposers/${w.proposers.findIndex((p) => p.isLeader)}` : '')];
  for (const a of path) {
    w.trace = [];
    try {
      w.apply(a);
    } catch (err) {
      lines.push(...w.trace);
      if (!(err instanceof InvariantViolation)) throw err;
      lines.push(`VIOLATION ${err.message}`);
      return lines;
    }
    lines.push(...w.trace);
  }
  lines.push('(path ended without a violation on replay)');
  return lines;
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'deliver': case 'drop': case 'dup': return `${a.kind} ${a.key.slice(0, 80)}`;
    case 'advance': return 'advance';
    case 'submit': return `submit by clients/${a.client}`;
    case 'barrier': return `read barrier by clients/${a.client}`;
    case 'reconfigure': return 'membership change asked by proposers/0';
    case 'crash': return `crash ${a.group}/${a.id}`;
  }
}
