/**
 * Embedding total order in an application: a replicated key-value map. Several writers submit
 * `set`/`delete` operations concurrently through different clients; every replica applies the
 * `learned()` stream of its own learner, in order, to its own `Map`. Because every learner delivers
 * the same sequence, the replicas end identical, which the example checks and prints.
 *
 * Run: `npx tsc -p . && node dist/examples/kv-store.js`.
 */
import { pathToFileURL } from 'node:url';
import { Cluster, type ClusterOptions } from '../lib/index.js';

/** What the replicas order. Travels as JSON through the default codec. */
export type KvOp =
  | { readonly op: 'set'; readonly key: string; readonly value: number }
  | { readonly op: 'delete'; readonly key: string };

/** One replica: applies operations in log order, and remembers how far it got. */
export class KvReplica {
  readonly data = new Map<string, number>();
  applied = 0;

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

// Run as a program (not when imported by the test).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const run = await runKvStore();
  run.replicas.forEach((r, i) => console.log(`replica ${i}: applied ${r.applied} ops, ${r.data.size} keys: ${r.dump()}`));
  console.log(run.identical ? `all ${run.replicas.length} replicas are identical` : 'REPLICAS DIVERGED');
  process.exitCode = run.identical ? 0 : 1;
}
