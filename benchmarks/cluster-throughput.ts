/**
 * Throughput of the in-process cluster in the normal scenario's shape (2 clients, 2 proposers,
 * 3 acceptors, 2 learners): values/s from the first submit until every submit resolved, for both
 * bus encodings and a few client caps. Each line is the median of `runs` runs.
 *
 * Run: `npx tsc -p . && node dist/benchmarks/cluster-throughput.js [valuesPerClient] [runs]`.
 */
import { performance } from 'node:perf_hooks';
import { Cluster, type TransportSpec } from '../lib/index.js';

const perClient = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 3);
const busModule = new URL('../lib/transport/bus.js', import.meta.url).href;

const busy = async (cluster: Cluster<string>) => new Map((await cluster.metrics()).workers.map((w) => [`${w.group}/${w.id}`, w.metrics?.eventLoopActiveMs ?? 0]));

async function once(encoding: 'clone' | 'json', maxOutstanding: number): Promise<{ rate: number; cpuMicrosPerValue: number; busyMs: Map<string, number> }> {
  const transport: TransportSpec = { module: busModule, export: 'busTransportFactory', settings: { encoding } };
  await using cluster = await Cluster.start<string>({ clients: 2, proposers: 2, acceptors: 3, learners: 2, maxOutstanding, transport });
  await cluster.submit('warm-up');
  const busyBefore = await busy(cluster);
  const mainBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all([0, 1].map((c) => Promise.all(Array.from({ length: perClient }, (_, i) => cluster.client(c).submit(`c${c}-${i}`)))));
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  const busyMs = new Map([...await busy(cluster)].map(([k, v]) => [k, v - (busyBefore.get(k) ?? 0)]));
  busyMs.set('main', performance.eventLoopUtilization(mainBefore).active);
  return { rate: (2 * perClient) / (ms / 1000), cpuMicrosPerValue: (used.user + used.system) / (2 * perClient), busyMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`cluster throughput: 2 clients x ${perClient} values, 2 proposers, 3 acceptors, 2 learners; median of ${runs}`);
for (const maxOutstanding of [256, 1024, 4096]) {
  for (const encoding of ['clone', 'json'] as const) {
    const results = [];
    for (let r = 0; r < runs; r++) results.push(await once(encoding, maxOutstanding));
    console.log(`maxOutstanding ${String(maxOutstanding).padStart(5)}  bus ${encoding.padEnd(5)}: ` +
      `${median(results.map((x) => x.rate)).toFixed(0).padStart(7)} values/s, ` +
      `${median(results.map((x) => x.cpuMicrosPerValue)).toFixed(1)} CPU us/value (all threads)`);
    if (maxOutstanding === 1024 && encoding === 'clone') {
      const last = results[results.length - 1]!.busyMs;
      console.log(`    event-loop busy ms per thread (last run): ${[...last].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    }
  }
}
