/**
 * One figure of `npm run bench` (1 client, 2 proposers, 3 acceptors, 2 learners), long enough to
 * profile, with the bus counters of every worker (messages per frame: how well a turn coalesces):
 *   node --cpu-prof --cpu-prof-dir=prof dist/benchmarks/profile-one.js <window, or 0 = batched> <seconds> [valueBytes] [bulk: 1] [loss: 0.1]
 *   node dist/benchmarks/profile-summary.js prof/*.cpuprofile
 */
import { Cluster } from '../lib/cluster/cluster.js';
import { Load } from './cluster-load.js';

import { performance } from 'node:perf_hooks';

const [window = 256, seconds = 6, valueBytes = 16, bulk = 0, loss = 0] = process.argv.slice(2).map(Number);
const cluster = await Cluster.start<string>({
  clients: 1, proposers: 2, acceptors: 3, learners: 2, maxOutstanding: 1 << 16, ...(window ? { window, batchMaxValues: 1 } : {}),
  ...(loss ? { faults: { loss } } : {}),
});
const load = new Load(cluster, 'x'.repeat(valueBytes), 8192, bulk === 1);
await load.first(30_000);
load.closedLoop(window ? 2 * window + 32 : 4096);
await load.measure(1);
const elu = performance.eventLoopUtilization();
const w = await load.measure(seconds);
console.log(JSON.stringify(w));
console.log(`main thread: busy ${(performance.eventLoopUtilization(elu).utilization * 100).toFixed(0)} % of the window`);
for (const m of (await cluster.metrics()).workers) {
  const x = m.metrics ?? {};
  console.log(`${m.group}/${m.id}: frames sent ${x['transport.framesSent']}, msgs sent ${x['transport.messagesSent']} (${((x['transport.messagesSent'] ?? 0) / (x['transport.framesSent'] || 1)).toFixed(1)}/frame), frames recv ${x['transport.framesReceived']}, msgs recv ${x['transport.messagesReceived']} (${((x['transport.messagesReceived'] ?? 0) / (x['transport.framesReceived'] || 1)).toFixed(1)}/frame), busy ${x.eventLoopActiveMs} ms`);
  const recovery = Object.entries(x).filter(([k, v]) => v && /retrans|catch|resend|overtaken|timeout|repeat/i.test(k)).map(([k, v]) => `${k} ${v}`);
  if (recovery.length) console.log(`  recovery: ${recovery.join(', ')}`);
}
await load.stop();
await cluster.stop();
await load.ended();
