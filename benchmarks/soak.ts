/**
 * Soak: push many values through an in-process cluster with log trimming on, sample RSS, and
 * check the outcome without keeping the values: two learners are read in lockstep (agreement),
 * every value carries (client, index) and is ticked off in a bitmap (validity, exactly once,
 * completeness).
 *
 *   npm run soak                         10,000,000 values (minutes)
 *   npm run soak -- --values 200000      a short run
 *   options: --clients 2 --sample-ms 1000 --json FILE --young-mb N (workerResourceLimits.maxYoungGenerationSizeMb)
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Cluster, type LearnedValue } from '../lib/index.js';

const { values: args } = parseArgs({ options: {
  values: { type: 'string', default: '10000000' },
  clients: { type: 'string', default: '2' },
  'sample-ms': { type: 'string', default: '1000' },
  json: { type: 'string' },
  'young-mb': { type: 'string' },
} });
const total = Number(args.values);
const clients = Number(args.clients);
const sampleMs = Number(args['sample-ms']);
const perClient = Math.ceil(total / clients);

const cluster = await Cluster.start<string>({
  clients, proposers: 2, acceptors: 3, learners: 2, trim: true, maxOutstanding: 4096,
  ...(args['young-mb'] ? { workerResourceLimits: { maxYoungGenerationSizeMb: Number(args['young-mb']) } } : {}),
});
const samples: { seconds: number; delivered: number; rssMiB: number; heapMiB: number }[] = [];
let delivered = 0;
const started = performance.now();
const heapByWorker = new Map<string, number[]>();
const heapSampler = setInterval(() => {
  cluster.metrics().then((m) => {
    for (const w of m.workers) {
      const key = `${w.group}/${w.id}`;
      if (!heapByWorker.has(key)) heapByWorker.set(key, []);
      heapByWorker.get(key)!.push((w.metrics?.heapUsedBytes ?? 0) / 2 ** 20);
    }
  }, () => {});
}, Math.max(sampleMs * 5, 5000));
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  samples.push({ seconds: (performance.now() - started) / 1000, delivered, rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20 });
  const last = samples[samples.length - 1]!;
  process.stderr.write(`\r${last.seconds.toFixed(0)} s  ${delivered.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} values  RSS ${last.rssMiB.toFixed(0)} MiB   `);
}, sampleMs);

// Validity + exactly once + completeness: one bit per submitted value.
const seen = new Uint8Array(Math.ceil((clients * perClient) / 8));
let problems = 0;
function tick(value: string): void {
  const [c, i] = value.split(':').map(Number) as [number, number];
  const bit = c * perClient + i;
  if (!(c >= 0 && c < clients && i >= 0 && i < perClient) || seen[bit >> 3]! & (1 << (bit & 7))) {
    if (problems++ < 10) console.error(`\nunexpected or repeated value ${value}`);
    return;
  }
  seen[bit >> 3]! |= 1 << (bit & 7);
}

// Agreement: learner 1 must deliver exactly learner 0's sequence; read both in lockstep.
async function readBoth(): Promise<void> {
  const a = cluster.learned({ learner: 0 })[Symbol.asyncIterator]();
  const b = cluster.learned({ learner: 1 })[Symbol.asyncIterator]();
  while (delivered < total) {
    const [x, y] = await Promise.all([a.next(), b.next()]) as [IteratorResult<LearnedValue<string>>, IteratorResult<LearnedValue<string>>];
    if (x.done || y.done) throw new Error('a learned() stream ended early');
    if (x.value.position !== y.value.position || x.value.value !== y.value.value) {
      throw new Error(`learners disagree at position ${x.value.position}: ${x.value.value} vs ${y.value.value}`);
    }
    tick(x.value.value);
    delivered++;
  }
  await a.return?.();
  await b.return?.();
}

async function submitAll(c: number): Promise<void> {
  const handle = cluster.client(c);
  const inFlight = new Set<Promise<number>>();
  for (let i = 0; i < perClient; i++) {
    const p = handle.submit(`${c}:${i}`);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 8192) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

const reading = readBoth();
await Promise.all(Array.from({ length: clients }, (_, c) => submitAll(c)));
await reading;
clearInterval(sampler);
clearInterval(heapSampler);
const seconds = (performance.now() - started) / 1000;
const metrics = await cluster.metrics();
await cluster.stop();

let missing = 0;
for (let bit = 0; bit < clients * perClient; bit++) if (!(seen[bit >> 3]! & (1 << (bit & 7)))) missing++;
const warm = samples.filter((s) => s.seconds >= Math.min(30, seconds / 4));
const rss = warm.map((s) => s.rssMiB);
const firstHalf = rss.slice(0, Math.floor(rss.length / 2));
const secondHalf = rss.slice(Math.floor(rss.length / 2));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const acceptorHeld = metrics.workers.filter((w) => w.group === 'acceptors').map((w) => w.metrics?.acceptedInstances ?? -1);
const report = {
  values: delivered, seconds, valuesPerSec: delivered / seconds,
  rssMiB: { afterWarmupMin: Math.min(...rss), afterWarmupMax: Math.max(...rss), firstHalfAvg: avg(firstHalf), secondHalfAvg: avg(secondHalf) },
  acceptorInstancesHeldAtEnd: acceptorHeld,
  problems, missing,
};
console.log(`\nsoak: ${delivered.toLocaleString('en-US')} values in ${seconds.toFixed(0)} s (${Math.round(report.valuesPerSec).toLocaleString('en-US')} values/s)`);
console.log(`RSS after warm-up: ${report.rssMiB.afterWarmupMin.toFixed(0)}–${report.rssMiB.afterWarmupMax.toFixed(0)} MiB ` +
  `(first half avg ${report.rssMiB.firstHalfAvg.toFixed(0)}, second half avg ${report.rssMiB.secondHalfAvg.toFixed(0)})`);
console.log(`acceptors hold ${acceptorHeld.join(', ')} instances at the end`);
console.log('heap used per worker thread (MiB, sampled over the run):');
for (const [key, mib] of heapByWorker) console.log(`  ${key.padEnd(12)} ${mib.map((x) => x.toFixed(0)).join(' ')}`);
console.log(`agreement: ok (learners read in lockstep); validity/exactly-once: ${problems} problems; completeness: ${missing} missing`);
if (args.json) writeFileSync(args.json, JSON.stringify({ ...report, heapByWorker: Object.fromEntries(heapByWorker), samples }, null, 2));
process.exitCode = problems || missing ? 1 : 0;
