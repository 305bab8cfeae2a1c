/**
 * Runs inside a private network namespace (started by `benchmarks/multicast.ts` with
 * `ip netns exec`): the batched value-throughput figure of `npm run bench`, with the cluster's
 * workers talking UDP over the namespace's loopback instead of the bus: multicast (one group per
 * role) or unicast (one address per member, a group message sent to each member).
 * Prints one JSON line: `{ valuesPerSec: number[], datagrams }`.
 *
 *   node dist/benchmarks/multicast-child.js <valueBytes> <reps> <seconds> <warmSeconds> [multicast|unicast]
 */
import { Cluster } from '../lib/cluster/cluster.js';
import type { Group } from '../lib/protocol/messages.js';
import type { TransportSpec } from '../lib/runtime/worker-transport.js';
import type { UdpMulticastSettings } from '../lib/transport/udp-multicast.js';
import type { UdpUnicastSettings } from '../lib/transport/udp-unicast.js';
import { Load } from './cluster-load.js';

const [valueBytes = 16, reps = 3, seconds = 1, warm = 1] = process.argv.slice(2, 6).map(Number);
const unicast = process.argv[6] === 'unicast';
const shape: Record<Group, number> = { proposers: 2, acceptors: 3, learners: 2, clients: 1 };
const module = new URL('../lib/transport/udp.js', import.meta.url).href;

function multicastSettings(): UdpMulticastSettings {
  return {
    groups: {
      clients: { address: '239.77.0.1', port: 15000 },
      proposers: { address: '239.77.0.2', port: 15001 },
      acceptors: { address: '239.77.0.3', port: 15002 },
      learners: { address: '239.77.0.4', port: 15003 },
    },
    interface: '127.0.0.1',
  };
}

/** Every member on the loopback, at a port of its own: 15100 + 10 × role + id. */
function unicastSettings(): UdpUnicastSettings {
  const at = (g: Group, base: number) => Array.from({ length: shape[g] }, (_, id) => ({ address: '127.0.0.1', port: 15100 + base + id }));
  return { members: { clients: at('clients', 0), proposers: at('proposers', 10), acceptors: at('acceptors', 20), learners: at('learners', 30) } };
}

const transport: TransportSpec = unicast
  ? { module, export: 'createUdpUnicastTransport', settings: unicastSettings() }
  : { module, export: 'createTransport', settings: multicastSettings() };
const cluster = await Cluster.start<string>({
  ...shape, maxOutstanding: 1 << 16,
  // As the CLI does on a busy host: a burst must not make the followers presume the leader dead.
  leaderTimeoutMs: 1000,
  transport,
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
