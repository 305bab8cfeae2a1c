/**
 * `workers: 'replica'`: worker i hosts proposer i, acceptor i, learner i and client i with one
 * RoleHost and one bus endpoint. The API still addresses members; killing one takes its replica
 * down, restarting it brings the replica back (the in-memory acceptor's state handed over).
 */
import { expect } from 'chai';
import type { ExitReason } from '../../lib/index.js';
import { tempDir } from '../kit/temp-dir.js';
import { checkBroadcast } from '../kit/total-order.js';
import { collect, errors, startCluster, stopAll, submitAll, values } from './helpers.js';

describe('Cluster with one worker per replica', function () {
  this.timeout(90_000);
  afterEach(stopAll);

  it('hosts each replica in one worker; values are ordered; a killed replica returns and catches up', async () => {
    const cluster = await startCluster<string>({ proposers: 3, acceptors: 3, learners: 3, clients: 1, workers: 'replica' });
    const hosts = new Map((await cluster.status()).map((s) => [`${s.group}/${s.id}`, s.worker]));
    expect(hosts.size).to.equal(10);
    expect(new Set(hosts.values())).to.deep.equal(new Set(['replica 0', 'replica 1', 'replica 2']));
    expect([hosts.get('proposers/1'), hosts.get('acceptors/1'), hosts.get('learners/1')]).to.deep.equal(['replica 1', 'replica 1', 'replica 1']);
    expect(hosts.get('clients/0')).to.equal('replica 0');

    const all = values('r', 600);
    const positions = new Map<string, number>();
    await submitAll(cluster, 0, all.slice(0, 200), positions);
    const exits: string[] = [];
    cluster.on('exit', (e: { group: string; id: number; reason: ExitReason }) => exits.push(`${e.group}/${e.id} ${e.reason}`));
    await cluster.kill('acceptor', 1);
    expect(exits.sort()).to.deep.equal(['acceptors/1 killed', 'learners/1 killed', 'proposers/1 killed']);
    const down = (await cluster.status()).filter((s) => !s.running).map((s) => `${s.group}/${s.id}`).sort();
    expect(down).to.deep.equal(['acceptors/1', 'learners/1', 'proposers/1']);
    await submitAll(cluster, 0, all.slice(200, 400), positions); // two acceptors of three: a quorum
    await cluster.restart('learner', 1);
    expect((await cluster.status()).every((s) => s.running)).to.equal(true);
    await submitAll(cluster, 0, all.slice(400), positions);
    const sequences = await Promise.all([0, 1, 2].map((l) => collect(cluster, l, all.length)));
    checkBroadcast(sequences, all, positions);
    expect(errors).to.deep.equal([]);
  });

  it('durable replicas: replicas killed abruptly, one after another, restart from their data directories', async () => {
    const dir = tempDir('paxos-replicas-');
    try {
      const cluster = await startCluster<string>({ proposers: 3, acceptors: 3, learners: 3, clients: 1, workers: 'replica', dataDir: dir.path });
      const all = values('d', 600);
      const positions = new Map<string, number>();
      await submitAll(cluster, 0, all.slice(0, 200), positions);
      await cluster.kill('proposer', 2);
      await submitAll(cluster, 0, all.slice(200, 400), positions);
      await cluster.restart('proposer', 2);
      await cluster.kill('acceptor', 1); // now replica 2's recovered acceptor is needed for a quorum
      await submitAll(cluster, 0, all.slice(400), positions);
      await cluster.restart('acceptor', 1);
      checkBroadcast(await Promise.all([0, 1, 2].map((l) => collect(cluster, l, all.length))), all, positions);
    } finally {
      await stopAll(); // before the directory goes: the acceptors write into it
      dir.remove();
    }
  });

  it('rejects an unknown placement with ConfigurationError', async () => {
    let error: unknown;
    try {
      await startCluster({ workers: 'host' as never });
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).to.equal('ERR_PAXOS_CONFIG');
  });
});
