/**
 * The liveness check, repeated from the end of submissions and faults until it passes: every
 * value of a live client is decided, every learner has it all, and every value a client was told
 * is committed was delivered. Nodes down for good are not waited for.
 */
import { InvariantViolation } from './invariants.js';
import type { SimContext } from './sim-context.js';
import type { SimNodes } from './slots.js';

/** How often the check repeats while the cluster catches up, in virtual ms. */
const RECHECK_MS = 50;

/** True once the run is done; throws once `livenessMs` after healing passed without it. */
export function checkLiveness(ctx: SimContext, nodes: SimNodes, unfinished = ''): boolean {
  const { checker, scenario } = ctx;
  const clients = nodes.group('clients').filter((s) => !s.permanent);
  const learners = nodes.group('learners').filter((s) => !s.permanent);
  const clientsDone = clients.every((s) => (s.client?.pending ?? 0) === 0 && (s.client?.pendingBarriers ?? 0) === 0);
  const total = checker.reference.length;
  const learnersDone = learners.every((s) => checker.deliveredBy(`${s.name}#${s.incarnation}`) === total);
  const lost = checker.committedButUndelivered();
  if (clientsDone && learnersDone && lost.length === 0 && !unfinished && ctx.now >= scenario.submitUntilMs) return true;
  if (ctx.now > scenario.healAtMs + scenario.livenessMs) {
    if (clientsDone && learnersDone && !unfinished) {
      throw new InvariantViolation('durability', `clients were told ${lost.slice(0, 5).join(' ')}` +
        `${lost.length > 5 ? ` (+${lost.length - 5})` : ''} are committed, but no learner ever delivered them`);
    }
    const lagging = learners.map((s) => `${s.name} delivered ${checker.deliveredBy(`${s.name}#${s.incarnation}`)}/${total}`);
    const pending = clients.map((s) => `${s.name} pending ${s.client?.pending ?? 0}${s.client?.pendingBarriers ? ` (+${s.client.pendingBarriers} barriers)` : ''}`);
    const leaders = nodes.group('proposers').map((s) => `${s.name} ${s.proposer ? s.proposer.currentPhase : 'down'}`);
    throw new InvariantViolation('liveness',
      `${scenario.livenessMs} ms after healing: ${[...lagging, ...pending, ...leaders, ...(unfinished ? [unfinished] : [])].join(', ')}`);
  }
  ctx.queue.push({ time: ctx.now + RECHECK_MS, kind: 'check-liveness' });
  return false;
}
