/** Helpers for the cluster tests: collecting learned sequences and checking the broadcast properties. */
import { expect } from 'chai';
import { Cluster, type ClusterOptions, type LearnedValue } from '../lib/index.js';

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

/** Poll `condition` every few ms until it holds; fail after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

/**
 * The atomic broadcast properties over what the learners delivered:
 * - agreement: every learner delivered the same values in the same order;
 * - validity: every delivered value was submitted;
 * - exactly-once: no value was delivered twice, positions are 0..n-1 without gaps;
 * - completeness: every submitted value was delivered;
 * - and every position `submit` resolved with holds the value that was submitted.
 */
export function checkBroadcast<T>(sequences: LearnedValue<T>[][], submitted: readonly T[], positions?: ReadonlyMap<T, number>): void {
  const reference = sequences[0]!;
  const key = (v: LearnedValue<T>) => JSON.stringify([v.position, v.value]);
  for (let l = 1; l < sequences.length; l++) {
    const s = sequences[l]!;
    expect(s.length, `learner ${l} length`).to.equal(reference.length);
    for (let i = 0; i < s.length; i++) {
      if (key(s[i]!) !== key(reference[i]!)) expect.fail(`agreement: learner ${l} delivered ${key(s[i]!)} at index ${i}, learner 0 ${key(reference[i]!)}`);
    }
  }
  const wanted = new Set(submitted);
  const seen = new Set<T>();
  reference.forEach((v, i) => {
    if (v.position !== i) expect.fail(`positions: index ${i} carries position ${v.position}`);
    if (!wanted.has(v.value)) expect.fail(`validity: ${String(v.value)} was delivered but never submitted`);
    if (seen.has(v.value)) expect.fail(`exactly-once: ${String(v.value)} delivered twice`);
    seen.add(v.value);
  });
  if (seen.size !== wanted.size) {
    const missing = submitted.filter((v) => !seen.has(v)).slice(0, 5);
    expect.fail(`completeness: ${wanted.size - seen.size} submitted values never delivered, e.g. ${missing.map(String).join(', ')}`);
  }
  if (positions) {
    for (const [value, position] of positions) {
      if (reference[position]?.value !== value) expect.fail(`submit resolved ${String(value)} with position ${position}, which holds ${String(reference[position]?.value)}`);
    }
  }
}

/** Submit `values` through client `i`, recording the positions the submits resolve with. */
export function submitAll<T>(cluster: Cluster<T>, client: number, values: readonly T[], positions: Map<T, number>): Promise<void> {
  return Promise.all(values.map(async (v) => { positions.set(v, await cluster.client(client).submit(v)); })).then(() => undefined);
}

export function values(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}
