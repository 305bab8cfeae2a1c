/** The public shapes of what a `Cluster` reports: its events and its metrics. */
import type { Acceptor } from '../protocol/acceptor.js';
import type { Client } from '../protocol/client.js';
import type { Learner } from '../protocol/learner.js';
import type { Proposer } from '../protocol/proposer.js';
import type { Group } from '../protocol/messages.js';
import type { ExitReason } from './supervisor.js';

/** Events of a `Cluster` (eventemitter3: `cluster.on('leader', ...)`). */
export interface ClusterEvents {
  /** The proposer the cluster follows changed (undefined: none leads right now). */
  leader: (event: { proposer: number | undefined; ballot: string | undefined }) => void;
  /** A worker exited: `killed` by `kill`, `stopped` by `stop`, `crashed` on its own. */
  exit: (event: { group: Group; id: number; code: number; reason: ExitReason }) => void;
  /** A worker threw, or something failed in the background. Never thrown at you. */
  error: (error: Error) => void;
}

/** One worker's counters, as `Cluster.metrics()` reports them. */
/**
 * The counter names `metrics()` reports: the role's own (each role reports its subset), a
 * proposer's embedded learner's (prefixed `learner.`), a learner worker's stream counters, the
 * worker's transport counters (prefixed `transport.`), and the worker thread's own.
 */
export type MetricName =
  | keyof Proposer['metrics'] | keyof Acceptor['metrics'] | keyof Learner['metrics'] | keyof Client['metrics'] | 'acceptedInstances'
  | `learner.${keyof Learner['metrics']}` | 'subscriptions' | 'valuesRetained' | 'valuesSkipped'
  | `transport.${string}` | 'eventLoopActiveMs' | 'heapUsedBytes' | 'heapLimitBytes';

export interface WorkerMetrics {
  readonly group: Group;
  readonly id: number;
  readonly running: boolean;
  /** Role and transport counters; undefined when the worker is down or did not answer. */
  readonly metrics?: Readonly<Partial<Record<MetricName, number>>>;
}

export interface ClusterMetrics {
  readonly workers: readonly WorkerMetrics[];
  /** Per client handle: values in flight and values waiting for room. */
  readonly clients: readonly { readonly id: number; readonly outstanding: number; readonly queued: number }[];
  /** The proposer currently leading, if any. */
  readonly leader: number | undefined;
}
