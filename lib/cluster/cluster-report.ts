/** What `cluster.status()` and `cluster.metrics()` gather from the workers (and the hosted clients). */
import type { ClusterMetrics, WorkerMetrics } from './cluster-types.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerStatus } from './worker-protocol.js';

/** Every role instance's status; those whose worker is down report `running: false`. */
export function clusterStatus(workers: Supervisor): Promise<WorkerStatus[]> {
  return workers.askAll('status', (control, { group, id }) => control.status(group, id), ({ group, id, worker }): WorkerStatus => ({ group, id, running: false, worker }));
}

/** Counters of every role instance (role, and its worker's transport), and the clients' queues. */
export async function clusterMetrics(
  workers: Supervisor, clients: readonly { id: number; outstanding: number; queued: number }[], leader: number | undefined,
): Promise<ClusterMetrics> {
  const all = await workers.askAll(
    'metrics',
    async (control, { group, id }): Promise<WorkerMetrics> => ({ group, id, running: true, metrics: await control.metrics(group, id) }),
    ({ group, id, running }): WorkerMetrics => ({ group, id, running }),
  );
  return { workers: all, clients: clients.map((c) => ({ id: c.id, outstanding: c.outstanding, queued: c.queued })), leader };
}
