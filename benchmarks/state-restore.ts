/**
 * How long a replaced replica takes to come back from a peer's application state
 * (`stateSnapshots`, `cluster.replicate()`): two replicas keep a machine whose state is
 * `stateMiB` MiB, the log is trimmed behind their snapshots, then learner 1 is killed and
 * restarted with empty memory and a fresh machine replicates from it. Measured from `restart()`
 * until that machine has restored the state (fetched from learner 0 in `stateChunkBytes` chunks
 * over the bus) and applied one more value: the time a replaced machine is out of service.
 */
import { Cluster } from '../lib/cluster/cluster.js';
import type { StateMachine } from '../lib/cluster/replica.js';

export interface StateRestoreFigure {
  readonly stateMiB: number;
  readonly restoreMillis: number;
  readonly miBPerSec: number;
}

/** A counter padded to `bytes`: its snapshot is that large. */
class PaddedCounter implements StateMachine<string> {
  count = 0;
  constructor(private readonly bytes: number) {}
  apply(): void {
    this.count++;
  }
  snapshot(): Uint8Array {
    const state = new Uint8Array(this.bytes);
    new DataView(state.buffer).setFloat64(0, this.count);
    return state;
  }
  restore(state: Uint8Array): void {
    this.count = new DataView(state.buffer, state.byteOffset).getFloat64(0);
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`state restore: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function stateRestore(stateMiB: number): Promise<StateRestoreFigure> {
  await using cluster = await Cluster.start<string>({
    proposers: 1, acceptors: 3, learners: 2, clients: 1, trim: true, stateSnapshots: true, trimKeepInstances: 8, batchMaxValues: 64,
  });
  const bytes = Math.round(stateMiB * 2 ** 20);
  const replicas = [0, 1].map((learner) => cluster.replicate(new PaddedCounter(bytes), { learner, snapshotEvery: 1000 }));
  await cluster.submitMany(Array.from({ length: 4000 }, (_, i) => `v${i}`));
  await until(() => replicas.every((r) => r.position >= 4000), 'the replicas');
  const trims = async () => (await cluster.metrics()).workers.reduce((n, w) => n + (w.group === 'proposers' ? w.metrics?.trims ?? 0 : 0), 0);
  await until(async () => (await trims()) > 0, 'a trim');
  replicas[1]!.stop();
  await cluster.kill('learners', 1);
  const started = performance.now();
  await cluster.restart('learners', 1);
  const fresh = cluster.replicate(new PaddedCounter(bytes), { learner: 1, snapshotEvery: 1000 });
  await cluster.submit('after');
  await until(() => fresh.counters.restores === 1 && fresh.position >= 4001, 'the restore');
  const restoreMillis = performance.now() - started;
  return { stateMiB, restoreMillis, miBPerSec: stateMiB / (restoreMillis / 1000) };
}
