/**
 * Helpers for the cluster tests: starting clusters that are stopped after each test, submitting,
 * and collecting learned sequences (checked with `checkBroadcast` from ../kit/total-order.ts).
 */
import { Cluster, type ClusterOptions, type LearnedValue } from '../../lib/index.js';

const open = new Set<Cluster<unknown>>();

/** Start a cluster that `stopAll` (run in afterEach) stops even if the test failed. */
export async function startCluster<T = unknown>(options: ClusterOptions<T>): Promise<Cluster<T>> {
  const cluster = await Cluster.start<T>(options);
  open.add(cluster as Cluster<unknown>);
  cluster.on('error', (e) => { errors.push(e); });
  return cluster;
}

/** Background errors reported by any cluster of the current test. */
export const errors: Error[] = [];

export async function stopAll(): Promise<void> {
  const clusters = [...open];
  open.clear();
  await Promise.all(clusters.map((c) => c.stop()));
  errors.length = 0;
}

/** Read the first `count` values a learner delivered (from position 0), or fail after `timeoutMs`. */
export async function collect<T>(cluster: Cluster<T>, learner: number, count: number, timeoutMs = 60_000): Promise<LearnedValue<T>[]> {
  const out: LearnedValue<T>[] = [];
  if (count === 0) return out;
  const it = cluster.learned({ learner, from: 0 });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`learner ${learner} delivered only ${out.length} of ${count} values in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reading = (async () => {
      for await (const v of it) {
        out.push(v);
        if (out.length >= count) break;
      }
    })();
    await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
    await it.return?.();
  }
  return out;
}

/** How many values a learner has delivered so far (via its worker's metrics). */
export async function delivered<T>(cluster: Cluster<T>, learner: number): Promise<number> {
  const m = await cluster.metrics();
  return m.workers.find((w) => w.group === 'learners' && w.id === learner)?.metrics?.valuesDelivered ?? 0;
}

/** Submit `values` through client `i`, recording the positions the submits resolve with. */
export function submitAll<T>(cluster: Cluster<T>, client: number, values: readonly T[], positions: Map<T, number>): Promise<void> {
  return Promise.all(values.map(async (v) => { positions.set(v, await cluster.client(client).submit(v)); })).then(() => undefined);
}

export function values(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}
