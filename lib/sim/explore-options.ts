/** What the bounded explorer explores: the cluster, the bounds and budgets, the reductions. */
import type { Group, MessageType } from '../protocol/messages.js';
import { type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../protocol/options.js';
import type { World } from './world.js';

export type WarmupPredicate = (w: World) => boolean;

export interface ExploreOptions {
  proposers: number;
  acceptors: number;
  learners: number;
  clients: number;
  /** Values submitted in all; value i is `v<i>`, submitted by client i % clients. */
  values: number;
  /** Read barriers asked in all, barrier i by client i % clients, each checked against what was decided when it was asked. */
  barriers: number;
  /** Acceptor slots beyond `acceptors` that do not vote at first (spares). */
  spares: number;
  /**
   * Membership changes asked (0 or 1): the highest voting acceptor is replaced by the first spare,
   * asked once, at any point of a schedule, through proposer 0 (a request that travels, can be
   * lost, duplicated or reach a proposer that does not lead). Free, like submissions.
   */
  reconfigurations: number;
  /** Most actions after the warm-up. */
  depth: number;
  /**
   * What `depth` counts. 'actions': every action. 'choices': only departures from the default
   * schedule (deliver the oldest message in flight) that are faults or reorderings; submissions
   * and clock advances (bounded by `values` and `maxTicks`) are free, so every path runs on to
   * quiescence, or to `maxPathLength`.
   */
  depthCounts: 'actions' | 'choices';
  /** Longest path explored with `depthCounts: 'choices'`. */
  maxPathLength: number;
  /** Stop after this many distinct states. */
  maxStates: number;
  /**
   * Deliveries out of send order allowed on a path (delay bounding): delivering the oldest
   * message in flight is free, any other costs one. Infinity: every delivery order.
   */
  reorder: number;
  /** Budgets over the whole path: messages dropped, messages duplicated, crash-restarts. */
  loss: number;
  dup: number;
  crash: number;
  /** Which groups the crash budget may hit (acceptors restart from disk, others empty). */
  crashGroups: Group[];
  batchMaxBytes: number;
  batchMaxValues: number;
  /** Enable trimming (learners = learner count, trimKeepInstances 1): a trim happens naturally. */
  trim: boolean;
  /** Virtual ms per clock advance; every node ticks after each advance. */
  stepMs: number;
  /** Most clock advances after the warm-up. */
  maxTicks: number;
  /** 'always': the clock may advance with messages in flight; 'quiescent': only with none. */
  tickPolicy: 'always' | 'quiescent';
  /** Message types delivered at once, in order, never lost (a reduction). */
  eager: MessageType[];
  /** Deliver a proposer's messages to itself at once (a reduction). */
  selfImmediate: boolean;
  /**
   * A deterministic fault-free prefix run before exploring: deliver in FIFO order (advancing the
   * clock when nothing is in flight) until the predicate holds. 'leader': a proposer leads and
   * nothing is in flight. 'none': explore from the initial state.
   */
  warmup: 'none' | 'leader' | WarmupPredicate;
  warmupMaxSteps: number;
  /** Overrides of the protocol options the explorer picks. */
  protocol: Partial<ProtocolOptions>;
  /** Stop after this much wall time (ms). */
  timeLimitMs: number;
  /** Stop after this many violations. */
  maxViolations: number;
  /** Violation paths kept (the shortest ones). */
  keepPaths: number;
  /** 'dfs' (little memory) or 'bfs' (shortest paths first, more memory). */
  search: 'dfs' | 'bfs';
  progress?: (line: string) => void;
}

export const DEFAULT_EXPLORE_OPTIONS: ExploreOptions = {
  proposers: 2, acceptors: 3, learners: 1, clients: 1, values: 2, barriers: 0, spares: 0, reconfigurations: 0,
  depth: 12, depthCounts: 'actions', maxPathLength: 300, maxStates: 2_000_000, reorder: Infinity,
  loss: 1, dup: 1, crash: 1, crashGroups: ['acceptors', 'proposers'],
  batchMaxBytes: 80, batchMaxValues: 1, trim: true,
  stepMs: 10, maxTicks: 4, tickPolicy: 'always',
  eager: ['heartbeat', 'alive', 'progress'], selfImmediate: true,
  warmup: 'leader', warmupMaxSteps: 500,
  protocol: {},
  timeLimitMs: Infinity, maxViolations: Infinity, keepPaths: 3, search: 'dfs',
};

/** Protocol timing scaled to the explorer's clock: every timer fires within a few advances. */
export function protocolOptionsFor(o: ExploreOptions): ResolvedOptions {
  return resolveOptions({
    proposers: o.proposers, acceptors: o.acceptors + o.spares, initialAcceptors: Array.from({ length: o.acceptors }, (_, i) => i),
    batchMaxBytes: o.batchMaxBytes, batchMaxValues: o.batchMaxValues,
    window: 4,
    // Heartbeats (and learners' progress reports, every 5 heartbeat intervals) go out at every advance.
    heartbeatIntervalMs: Math.max(1, Math.floor(o.stepMs / 5)),
    leaderTimeoutMs: 2 * o.stepMs + 1,
    retransmitMs: 2 * o.stepMs,
    clientRetryMs: 3 * o.stepMs,
    catchupMs: 2 * o.stepMs,
    catchupMaxInstances: 4,
    ...(o.trim ? { trimAfterLearners: o.learners, trimKeepInstances: 1 } : {}),
    ...o.protocol,
  });
}

export function resolveExploreOptions(o: Partial<ExploreOptions> = {}): ExploreOptions {
  return { ...DEFAULT_EXPLORE_OPTIONS, ...o };
}
