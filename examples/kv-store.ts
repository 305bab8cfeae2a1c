/**
 * Embedding total order in an application: a replicated key-value map. Several writers submit
 * `set`/`delete` operations concurrently through different clients; every replica applies the
 * `learned()` stream of its own learner, in order, to its own `Map`. Because every learner delivers
 * the same sequence, the replicas end identical, which the example checks and prints.
 *
 * `runKvStoreWithRestart` keeps the replicas with `cluster.replicate()` instead (application
 * snapshots, `stateSnapshots`), trims the log, and replaces one replica's machine after the log was
 * trimmed far past where it would have to start: the new replica restores a peer's snapshot and
 * ends identical to the others.
 *
 * Run: `npx tsc -p . && node dist/examples/kv-store.js`.
 */
import { pathToFileURL } from 'node:url';
import { Cluster, type ClusterOptions, type StateMachine } from '../lib/index.js';

/** What the replicas order. Travels as JSON through the default codec. */
export type KvOp =
  | { readonly op: 'set'; readonly key: string; readonly value: number }
  | { readonly op: 'delete'; readonly key: string };

/** One replica: applies operations in log order, remembers how far it got, and snapshots itself. */
export class KvReplica implements StateMachine<KvOp> {
  data = new Map<string, number>();
  applied = 0;

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ applied: this.applied, data: [...this.data] }));
  }

  restore(state: Uint8Array): void {
    const { applied, data } = JSON.parse(new TextDecoder().decode(state)) as { applied: number; data: [string, number][] };
    this.applied = applied;
    this.data = new Map(data);
  }

  apply(op: KvOp): void {
    if (op.op === 'set') this.data.set(op.key, op.value);
    else this.data.delete(op.key);
    this.applied++;
  }

  /** A canonical dump (keys sorted), so replicas can be compared as strings. */
  dump(): string {
    return JSON.stringify([...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

export interface KvRun {
  readonly operations: number;
  readonly replicas: readonly KvReplica[];
  readonly identical: boolean;
}

/**
 * Start a cluster, let `writers` clients race `opsPerWriter` operations each on a few shared keys,
 * build one replica per learner from its `learned()` stream, and stop.
 */
export async function runKvStore(opsPerWriter = 500, writers = 3, learners = 3, options: ClusterOptions<KvOp> = {}): Promise<KvRun> {
  await using cluster = await Cluster.start<KvOp>({ proposers: 2, acceptors: 3, learners, clients: writers, ...options });
  const total = opsPerWriter * writers;
  const replicas = Array.from({ length: learners }, () => new KvReplica());
  // Each replica follows its own learner from the first operation.
  const following = replicas.map(async (replica, learner) => {
    if (total === 0) return;
    for await (const { value } of cluster.learned({ learner })) {
      replica.apply(value);
      if (replica.applied === total) break;
    }
  });
  // Writers race on the same ten keys, so the final map depends entirely on the agreed order.
  await Promise.all(Array.from({ length: writers }, (_, w) => Promise.all(Array.from({ length: opsPerWriter }, (_, i) => {
    const key = `key${(i * 7 + w) % 10}`;
    const op: KvOp = i % 5 === 4 ? { op: 'delete', key } : { op: 'set', key, value: w * 1_000_000 + i };
    return cluster.client(w).submit(op);
  }))));
  await Promise.all(following);
  const identical = replicas.every((r) => r.dump() === replicas[0]!.dump());
  return { operations: total, replicas, identical };
}

/** What `runKvStoreWithRestart` saw: the run, and how the replaced replica caught up. */
export interface KvRestartRun extends KvRun {
  /** Snapshots the replaced replica restored (1: it started from a peer's). */
  readonly restores: number;
  /** Operations it applied itself, after the snapshot. */
  readonly appliedAfterRestore: number;
  /** Times the leader trimmed the log. */
  readonly trims: number;
}

/**
 * Writers race as in `runKvStore`, with every replica kept by `cluster.replicate()` and the log
 * trimmed. Halfway, learner `learners - 1` is killed and restarted with empty memory and its
 * replica is replaced by a fresh one (a replaced machine); by then the log is trimmed far past
 * position 0, so it restores a peer's snapshot and applies only what came after.
 */
export async function runKvStoreWithRestart(opsPerWriter = 500, writers = 3, learners = 3): Promise<KvRestartRun> {
  await using cluster = await Cluster.start<KvOp>({
    proposers: 2, acceptors: 3, learners, clients: writers, trim: true, stateSnapshots: true, trimKeepInstances: 8, replayKeepValues: 64,
    batchMaxValues: 8, // small batches, so that a short run spans enough instances to trim
  });
  const trimsSoFar = async () => (await cluster.metrics()).workers.reduce((n, w) => n + (w.group === 'proposers' ? w.metrics?.trims ?? 0 : 0), 0);
  const replicas = Array.from({ length: learners }, () => new KvReplica());
  const handles = replicas.map((r, learner) => cluster.replicate(r, { learner, snapshotEvery: 100 }));
  const write = (w: number, from: number, to: number) => Promise.all(Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const key = `key${(i * 7 + w) % 10}`;
    return cluster.client(w).submit(i % 5 === 4 ? { op: 'delete', key } : { op: 'set', key, value: w * 1_000_000 + i });
  }));
  const half = Math.floor(opsPerWriter / 2);
  await Promise.all(Array.from({ length: writers }, (_, w) => write(w, 0, half)));
  const caughtUp = (n: number) => Promise.all(handles.map(async (h) => { while (h.position < n) await new Promise((r) => setTimeout(r, 10)); }));
  await caughtUp(half * writers);
  // Learners report progress (and states) every few heartbeats: give the leader the time to trim.
  for (let waited = 0; (await trimsSoFar()) === 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  // The replaced machine: its learner loses its memory, and a fresh replica takes over.
  const last = learners - 1;
  handles[last]!.stop();
  await cluster.kill('learners', last);
  await cluster.restart('learners', last);
  replicas[last] = new KvReplica();
  handles[last] = cluster.replicate(replicas[last], { learner: last, snapshotEvery: 100 });
  await Promise.all(Array.from({ length: writers }, (_, w) => write(w, half, opsPerWriter)));
  await caughtUp(opsPerWriter * writers);
  const trims = await trimsSoFar();
  const identical = replicas.every((r) => r.dump() === replicas[0]!.dump());
  return {
    operations: opsPerWriter * writers, replicas, identical, trims,
    restores: handles[last]!.counters.restores, appliedAfterRestore: handles[last]!.counters.applied,
  };
}

// Run as a program (not when imported by the test).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const run = await runKvStore();
  run.replicas.forEach((r, i) => console.log(`replica ${i}: applied ${r.applied} ops, ${r.data.size} keys: ${r.dump()}`));
  console.log(run.identical ? `all ${run.replicas.length} replicas are identical` : 'REPLICAS DIVERGED');
  process.exitCode = run.identical ? 0 : 1;
}
