/**
 * Bounded exhaustive exploration: every interleaving of a tiny cluster's steps (delivery order,
 * loss, duplication, crash-restarts, submissions, clock advances) up to a depth bound, with
 * state hashing so a state reached along two paths is explored once. The protocol core is
 * deterministic and its state plain data, so a world can be cloned and hashed generically.
 *
 * A world: the role objects, the multiset of in-flight messages, each acceptor's durable state,
 * the budgets of faults still allowed, a virtual clock, and the checker's observations. Every
 * action is applied to a clone; invariants are checked after every action; a violating state is
 * counted and not expanded, and its action path is kept as a readable history.
 *
 * Durability (why loss plus crash-restart covers a crash before the sync): see world.ts.
 *
 * Reductions (all flags): message types in `eager` (heartbeats, the acceptors' answers to them and progress reports by default)
 * are delivered at once, in order, without faults; messages a proposer sends to itself likewise;
 * the clock advances only by `stepMs` and at most `maxTicks` times; with `tickPolicy: 'quiescent'`
 * only when nothing is in flight.
 *
 * The parts: options and bounds (explore-options.ts), the world (world-state.ts: what it holds,
 * copied and hashed with deep-clone.ts and canonical-text.ts; world.ts: how it moves, with the
 * explorer's own acceptor checks in explore-invariants.ts), the search (explore-search.ts) and
 * the replayed histories of violations (explore-replay.ts).
 */
export { type ExploreOptions, type WarmupPredicate, DEFAULT_EXPLORE_OPTIONS, resolveExploreOptions } from './explore-options.js';
export { type ExploreResult, type ViolationReport, explore } from './explore-search.js';
export { describeAction, replay } from './explore-replay.js';
export { type Action, type Packet, World, makeClient } from './world.js';
