/** `cluster.replicate(machine)`: application state snapshots, restored after the log was trimmed past a learner. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Cluster, type ClusterOptions, ConfigurationError, type Replica, type StateMachine, TrimmedError } from '../../lib/index.js';
import { waitFor } from '../kit/wait.js';
import { tempDir } from '../kit/temp-dir.js';
import { errors, startCluster, stopAll, values } from './helpers.js';

/** A machine that keeps every value it applied; its snapshot is their JSON. */
class ListMachine implements StateMachine<string> {
  values: string[] = [];

  apply(value: string, position: number): void {
    if (position !== this.values.length) throw new Error(`applied position ${position} after ${this.values.length} values`);
    this.values.push(value);
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }

  restore(state: Uint8Array, position: number): void {
    this.values = JSON.parse(new TextDecoder().decode(state)) as string[];
    if (this.values.length !== position) throw new Error(`a state of ${this.values.length} values restored as position ${position}`);
  }
}

const SHAPE: ClusterOptions<string> = {
  proposers: 2, acceptors: 3, learners: 2, clients: 1, trim: true, stateSnapshots: true, trimKeepInstances: 4, replayKeepValues: 100,
  batchMaxValues: 16,
};

async function metricsOf(cluster: Cluster<string>, group: string, id: number): Promise<Readonly<Record<string, number | undefined>>> {
  return (await cluster.metrics()).workers.find((w) => w.group === group && w.id === id)?.metrics ?? {};
}

async function trims(cluster: Cluster<string>): Promise<number> {
  const m = await cluster.metrics();
  return m.workers.filter((w) => w.group === 'proposers').reduce((n, w) => n + (w.metrics?.trims ?? 0), 0);
}

const reached = (replica: Replica<string>, position: number) => waitFor(() => replica.position >= position, 30_000, `replica at ${position}`);

describe('Cluster application state (replicate, stateSnapshots)', function () {
  this.timeout(90_000);
  afterEach(stopAll);

  it('a learner restarted with empty memory fetches a peer state; a new replica restores it and ends identical', async () => {
    const cluster = await startCluster<string>(SHAPE);
    const machines = [new ListMachine(), new ListMachine()];
    const replicas = machines.map((m, learner) => cluster.replicate(m, { learner, snapshotEvery: 100 }));
    const first = values('a', 3000);
    await cluster.submitMany(first);
    await Promise.all(replicas.map((r) => reached(r, 3000)));
    await waitFor(async () => (await trims(cluster)) > 0, 20_000, 'a trim');
    // At most one per 100 values: a mark lands where the learner stands, which may be well ahead.
    expect(replicas[0]!.counters.snapshots).to.be.greaterThan(1);

    // Learner 1 loses its memory; its replica (and machine) stop with it: a replaced machine.
    replicas[1]!.stop();
    await cluster.kill('learners', 1);
    await cluster.restart('learners', 1);
    const fresh = new ListMachine();
    const replica = cluster.replicate(fresh, { learner: 1, snapshotEvery: 100 });
    const second = values('b', 1000);
    await cluster.submitMany(second);
    await reached(replica, 4000);
    await reached(replicas[0]!, 4000);
    expect(fresh.values).to.deep.equal(machines[0]!.values);
    expect(fresh.values).to.deep.equal([...first, ...second]);
    expect(replica.counters.restores, 'the replica restored a state').to.equal(1);
    expect(replica.counters.applied, 'and applied only what came after it').to.be.below(4000);
    expect((await metricsOf(cluster, 'learners', 1)).statesRestored, 'from a peer').to.equal(1);
    // A plain learned() stream cannot read what was trimmed away.
    const it = cluster.learned({ learner: 1, from: 0 });
    await it.next().then(() => expect.fail('read trimmed values'), (e: unknown) => expect(e).to.be.instanceOf(TrimmedError));
    expect(errors).to.deep.equal([]);
  });

  it('fetches a state of many chunks under 10% loss on the bus', async () => {
    const cluster = await startCluster<string>({ ...SHAPE, stateChunkBytes: 1024, faults: { loss: 0.1 } });
    const machines = [new ListMachine(), new ListMachine()];
    const replicas = machines.map((m, learner) => cluster.replicate(m, { learner, snapshotEvery: 200 }));
    const all = values('a', 2000);
    await cluster.submitMany(all);
    await Promise.all(replicas.map((r) => reached(r, 2000)));
    await waitFor(async () => (await trims(cluster)) > 0, 20_000, 'a trim');
    replicas[1]!.stop();
    await cluster.kill('learners', 1);
    await cluster.restart('learners', 1);
    const fresh = new ListMachine();
    const replica = cluster.replicate(fresh, { learner: 1 });
    await cluster.submit('after');
    await reached(replica, 2001);
    await reached(replicas[0]!, 2001);
    // (Under loss, a client's values need not be ordered as it submitted them: compare replicas.)
    expect(fresh.values).to.deep.equal(machines[0]!.values);
    expect([...fresh.values].sort()).to.deep.equal([...all, 'after'].sort());
    const sent = (await metricsOf(cluster, 'learners', 0)).stateChunksSent ?? 0;
    expect(sent, 'a state of ~20 KiB in 1 KiB chunks').to.be.greaterThan(15);
    expect(replica.counters.restores).to.equal(1);
  });

  it('with a data directory, a restarted learner loads its own state from disk', async () => {
    const dir = tempDir('paxos-replicate-');
    try {
      const dataDir = dir.path;
      const cluster = await startCluster<string>({ ...SHAPE, dataDir });
      const replicas = [0, 1].map((learner) => cluster.replicate(new ListMachine(), { learner, snapshotEvery: 50 }));
      await cluster.submitMany(values('a', 1000));
      await Promise.all(replicas.map((r) => reached(r, 1000)));
      await waitFor(() => existsSync(join(dataDir, 'learner-1.state')), 10_000, 'the state file');
      replicas[1]!.stop();
      await cluster.kill('learners', 1);
      await cluster.restart('learners', 1);
      const fresh = new ListMachine();
      const replica = cluster.replicate(fresh, { learner: 1 });
      await cluster.submitMany(values('b', 200));
      await reached(replica, 1200);
      await reached(replicas[0]!, 1200);
      const m = await metricsOf(cluster, 'learners', 1);
      expect(m.statesLoaded, 'loaded from its file').to.equal(1);
      expect(m.statesRestored ?? 0, 'nothing fetched').to.equal(0);
      expect(fresh.values).to.have.length(1200);
      expect(replica.counters.restores).to.equal(1);
      await cluster.stop();
    } finally {
      dir.remove();
    }
  });

  it('needs stateSnapshots, and trims nothing while a gating learner holds no state', async () => {
    const plain = await startCluster<string>({ ...SHAPE, stateSnapshots: false });
    expect(() => plain.replicate(new ListMachine())).to.throw(ConfigurationError);
    const cluster = await startCluster<string>(SHAPE);
    cluster.replicate(new ListMachine(), { learner: 0, snapshotEvery: 50 }); // learner 1: no replica, no state
    await cluster.submitMany(values('a', 1000));
    await new Promise((r) => setTimeout(r, 300));
    expect(await trims(cluster)).to.equal(0);
  });
});
