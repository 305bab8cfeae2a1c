/**
 * Runs inside a private network namespace (started by `benchmarks/multicast.ts` with
 * `ip netns exec`): the batched value-throughput figure of `npm run bench`, with the cluster's
 * workers talking UDP multicast over the namespace's loopback instead of the bus.
 * Prints one JSON line: `{ valuesPerSec: number[], datagrams }`.
 *
 *   node dist/benchmarks/multicast-child.js <valueBytes> <reps> <seconds> <warmSeconds>
 */
import { Cluster } from '../lib/cluster/cluster.js';
import type { UdpMulticastSettings } from '../lib/transport/udp-multicast.js';
import { Load } from './cluster-load.js';

const [valueBytes = 16, reps = 3, seconds = 1, warm = 1] = process.argv.slice(2).map(Number);
const settings: UdpMulticastSettings = {
  groups: {
    clients: { address: '239.77.0.1', port: 15000 },
    proposers: { address: '239.77.0.2', port: 15001 },
    acceptors: { address: '239.77.0.3', port: 15002 },
    learners: { address: '239.77.0.4', port: 15003 },
  },
  interface: '127.0.0.1',
};
const cluster = await Cluster.start<string>({
  proposers: 2, acceptors: 3, learners: 2, clients: 1, maxOutstanding: 1 << 16,
  // As the CLI does on a busy host: a burst must not make the followers presume the leader dead.
  leaderTimeoutMs: 1000,
  transport: { module: new URL('../lib/transport/udp-multicast.js', import.meta.url).href, export: 'createTransport', settings },
});
const load = new Load(cluster, 'x'.repeat(valueBytes));
try {
  await load.first(30_000);
  load.closedLoop(16_384);
  await load.measure(warm);
  const valuesPerSec: number[] = [];
  for (let r = 0; r < reps; r++) valuesPerSec.push((await load.measure(seconds)).perSec);
  await load.stop();
  const metrics = await cluster.metrics();
  const datagrams = metrics.workers.reduce((n, w) => n + (w.metrics?.['transport.datagramsIn'] ?? 0), 0);
  console.log(JSON.stringify({ valuesPerSec, datagrams }));
} finally {
  await load.stop();
  await cluster.stop();
  await load.ended();
}
