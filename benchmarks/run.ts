/**
 * `npm run bench`: every figure of issue 5 in one run, so that ratios hold on a noisy machine.
 *
 *   node dist/benchmarks/run.js [--quick] [--json FILE] [--soak SECONDS] [--reps N] [--no-multicast]
 *
 * 1. raw bus: `BusTransport` between two workers, no protocol (one-way msgs/s, values/s at the
 *    batch sizes the batched runs use, round trip);
 * 2. unbatched instances/s (`batchMaxValues: 1`) at window 1, 16, 256;
 * 3. batched values/s and MB/s for 16 B, 256 B and 4 KiB values (default batching);
 * 4. latency p50/p99/p99.9 with one value outstanding and at half of the batched peak;
 * 5. shapes: 1 client / 2 proposers / 3 acceptors / 2 learners, and 5 acceptors / 3 learners;
 * 6. multicast: batched 16 B over UDP multicast, in a private network namespace (root only);
 * 7. unicast: the same over UDP unicast (one datagram per member of a group), beside it;
 * 8. state: a replaced replica restoring a peer's application state (state-restore.ts);
 * 9. membership: the throughput dip while a dead acceptor is replaced by a spare (membership-dip.ts);
 * plus an RSS soak at peak load.
 *
 * Submission goes through `submit()` of client 0 and delivery is counted where learner 0's
 * `learned()` iterator yields the value on the main thread. Every figure is the median of
 * `reps` measurement windows after a warm-up window; min/median/max are printed. Every run is
 * bounded in time: each step has a deadline and the whole run a watchdog.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster, type ClusterOptions } from '../lib/cluster/cluster.js';
import { Load, type Window } from './cluster-load.js';
import { type MulticastResult, type UdpMode, multicastSkipReason, runMulticast } from './multicast.js';
import { RawBus } from './raw-bus.js';
import { stateRestore } from './state-restore.js';
import { membershipDip } from './membership-dip.js';
import { Progress } from './lib/progress.js';
import { type Spread, num, spread, svgChart, table } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    soak: { type: 'string' },
    reps: { type: 'string' },
    'no-multicast': { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node dist/benchmarks/run.js [--quick] [--json FILE] [--soak SECONDS] [--reps N] [--no-multicast]\n' +
    '         [--only raw,unbatched,batched,large,multicast,unicast,state,membership]  (a subset, e.g. to profile one part; --no-multicast skips both UDP figures)');
  process.exit(0);
}

const quick = args.quick!;
const plan = {
  reps: Number(args.reps ?? (quick ? 3 : 5)),
  /** Seconds per measurement window, and of the warm-up window before them. */
  seconds: quick ? 0.5 : 2,
  warm: quick ? 0.5 : 1.5,
  soak: Number(args.soak ?? (quick ? 4 : 60)),
  lowLoadValues: quick ? 300 : 2000,
  rawMessages: quick ? 40_000 : 200_000,
  rttCount: quick ? 1000 : 5000,
  windows: [1, 16, 256],
  sizes: [16, 256, 4096],
  /** Values a client keeps outstanding in the batched runs (closed loop). */
  batchedOutstanding: 4096,
  /** Stop the soak if the whole process grows by more than this. */
  rssCapBytes: Math.min(3 * 2 ** 30, totalmem() / 4),
  /** Hard stop for the whole run (--quick takes about 40 s here; a starved machine must not hang CI). */
  watchdogMs: quick ? 90_000 : 15 * 60_000,
};
for (const [k, v] of Object.entries({ reps: plan.reps, soak: plan.soak })) {
  if (!Number.isFinite(v) || v < 1 || v > 3600) throw new Error(`--${k} must be a number from 1 to 3600`);
}

/** Values per instance the leader cuts under load with default limits (4096 values / 48 KiB). */
const batchFor = (valueBytes: number): number => Math.min(4096, Math.floor((48 * 1024) / (24 + valueBytes)));

const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench: watchdog: the run took longer than ${plan.watchdogMs / 1000} s; giving up\n`);
  process.exit(3);
}, plan.watchdogMs);
watchdog.unref();

const STEPS = 2 + plan.windows.length + plan.sizes.length + 4 + 3 + 1;
const progress = new Progress(STEPS);
const log = (line: string) => process.stderr.write(process.stderr.isTTY ? '' : `bench: ${line}\n`);
const step = (label: string) => {
  progress.step(label);
  log(label);
};
const errors: string[] = [];

async function section<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (e) {
    errors.push(`${name}: ${(e as Error).message}`);
    process.stderr.write(`\nbench: ${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    return undefined;
  }
}

async function reps<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

const SHAPE_DEFAULT = { clients: 1, proposers: 2, acceptors: 3, learners: 2 } as const;
const SHAPE_LARGE = { clients: 1, proposers: 2, acceptors: 5, learners: 3 } as const;
type Shape = typeof SHAPE_DEFAULT | typeof SHAPE_LARGE;
const shapeName = (s: Shape) => `${s.clients}c/${s.proposers}p/${s.acceptors}a/${s.learners}l`;

const LEADER_TIMEOUT_MS = 1000;

/** Leader changes after the first election, per cluster run (a busy machine can make leadership flap). */
const leaderChanges: { figure: string; changes: number }[] = [];

/** Start a cluster with a load on it, run `body`, always stop both. */
async function withCluster<T>(figure: string, options: ClusterOptions<string>, value: string, body: (load: Load, cluster: Cluster<string>) => Promise<T>,
  bulk = false): Promise<T> {
  // leaderTimeoutMs 1000 (the CLI's default on busy hosts) instead of 200: on a loaded 2-core machine
  // a follower that falls 200 ms behind presumes the leader dead, and a re-election in the middle of
  // a figure measures the failure detector, not the ordering. Leader changes are still counted.
  const cluster = await Cluster.start<string>({ startTimeoutMs: 30_000, leaderTimeoutMs: LEADER_TIMEOUT_MS, ...options });
  const load = new Load(cluster, value, 8192, bulk);
  let changes = -1;
  cluster.on('leader', (e) => { if (e.proposer !== undefined) changes++; });
  try {
    await load.first(30_000);
    changes = 0;
    return await body(load, cluster);
  } finally {
    leaderChanges.push({ figure, changes: Math.max(0, changes) });
    await load.stop();
    await cluster.stop();
    await load.ended();
  }
}

/** Warm-up window, then `reps` windows under the load already applied. */
async function measured(load: Load): Promise<Window[]> {
  await load.measure(plan.warm);
  return reps(plan.reps, () => load.measure(plan.seconds));
}

// ------------------------------------------------------------------------------------ figures

interface RawFigures {
  msgsPerSec: Spread;
  rttMicros: Spread;
  rttP99Micros: Spread;
  /** values/s at the batch the batched run of that value size uses. */
  batches: { valueBytes: number; batch: number; valuesPerSec: Spread; mbPerSec: Spread }[];
}

async function rawFigures(): Promise<RawFigures> {
  step('raw bus: one-way messages/s');
  const bus = await RawBus.start();
  try {
    await bus.stream(Math.round(plan.rawMessages / 4), 1, 16); // warm-up
    const ones = await reps(plan.reps, () => bus.stream(plan.rawMessages, 1, 16));
    step('raw bus: values/s at batch sizes, round trip');
    const batches = [];
    for (const valueBytes of plan.sizes) {
      const batch = batchFor(valueBytes);
      // About as many bytes per repetition for every size; at least 200 messages.
      const count = Math.max(200, Math.round((plan.rawMessages * 40) / (batch * (24 + valueBytes)) * (quick ? 4 : 8)));
      await bus.stream(Math.max(50, Math.round(count / 4)), batch, valueBytes);
      const runs = await reps(plan.reps, () => bus.stream(count, batch, valueBytes));
      batches.push({
        valueBytes, batch, valuesPerSec: spread(runs.map((r) => r.valuesPerSec)),
        mbPerSec: spread(runs.map((r) => (r.valuesPerSec * valueBytes) / 1e6)),
      });
    }
    await bus.rtt(Math.round(plan.rttCount / 4));
    const rtts = await reps(plan.reps, () => bus.rtt(plan.rttCount));
    return {
      msgsPerSec: spread(ones.map((r) => r.messagesPerSec)),
      rttMicros: spread(rtts.map((r) => r.medianMicros)),
      rttP99Micros: spread(rtts.map((r) => r.p99Micros)),
      batches,
    };
  } finally {
    await bus.stop();
  }
}

interface UnbatchedFigure { shape: string; window: number; instancesPerSec: Spread; p50Micros: Spread; cpuMicrosPerValue: Spread }

async function unbatched(shape: Shape, window: number): Promise<UnbatchedFigure> {
  step(`unbatched ${shapeName(shape)}, window ${window}`);
  const outstanding = 2 * window + 32;
  return withCluster(`unbatched ${shapeName(shape)} window ${window}`, { ...shape, window, batchMaxValues: 1, maxOutstanding: Math.max(1024, outstanding) }, 'x'.repeat(16), async (load) => {
    load.closedLoop(outstanding);
    const w = await measured(load);
    return {
      shape: shapeName(shape), window, instancesPerSec: spread(w.map((x) => x.perSec)), p50Micros: spread(w.map((x) => x.p50)),
      cpuMicrosPerValue: spread(w.map((x) => x.cpuMicrosPerValue)),
    };
  });
}

interface BatchedFigure {
  shape: string; valueBytes: number; valuesPerSec: Spread; mbPerSec: Spread; p50Micros: Spread; cpuMicrosPerValue: Spread;
  /** Mean values per instance the leader cut. */
  valuesPerInstance: number;
}
interface LatencyFigure { shape: string; load: string; valuesPerSec: Spread; p50Micros: Spread; p99Micros: Spread; p999Micros: Spread; skipped?: number }
interface SoakFigure {
  seconds: number; valuesPerSec: number; samples: { t: number; rssMiB: number }[]; warmRssMiB: number; endRssMiB: number;
  growthMiB: number; bytesPerValue: number; flat: boolean; stoppedAtCap: boolean;
  /** False for soaks under 20 s (`--quick`): too short to get past the warm-up ramp, so no verdict. */
  conclusive: boolean;
}

const latencyOf = (shape: Shape, loadName: string, w: Window[], skipped?: number): LatencyFigure => ({
  shape: shapeName(shape), load: loadName, valuesPerSec: spread(w.map((x) => x.perSec)),
  p50Micros: spread(w.map((x) => x.p50)), p99Micros: spread(w.map((x) => x.p99)), p999Micros: spread(w.map((x) => x.p999)),
  ...(skipped === undefined ? {} : { skipped }),
});

/** Values per instance the leader actually cut (over the cluster's life), from its counters. */
async function valuesPerInstance(cluster: Cluster<string>): Promise<number> {
  const leader = (await cluster.metrics()).workers
    .filter((w) => w.group === 'proposers' && w.metrics)
    .sort((a, b) => (b.metrics!.instancesProposed ?? 0) - (a.metrics!.instancesProposed ?? 0))[0];
  const m = leader?.metrics ?? {};
  return (m.valuesProposed ?? 0) / Math.max(1, m.instancesProposed ?? 0);
}

/**
 * One value size on a fresh cluster (every run keeps what it ordered, so sizes must not share one).
 * `bulk`: through `submitMany` and `learnedBatches()` instead of a promise and an iterator step per value.
 */
async function batched(shape: Shape, valueBytes: number, bulk = false, extra: ClusterOptions<string> = {}): Promise<BatchedFigure> {
  const variant = `${bulk ? ', bulk API' : ''}${extra.faults ? `, faults ${JSON.stringify(extra.faults)}` : ''}`;
  step(`batched ${shapeName(shape)}: ${valueBytes}-byte values${variant}`);
  return withCluster(`batched ${shapeName(shape)} ${valueBytes} B${variant}`, { ...shape, maxOutstanding: 1 << 16, ...extra }, 'x'.repeat(valueBytes), async (load, cluster) => {
    // Keep roughly the same bytes in flight for every value size.
    load.closedLoop(Math.max(512, Math.min(plan.batchedOutstanding, Math.round((plan.batchedOutstanding * 40) / (24 + valueBytes)))));
    const w = await measured(load);
    return {
      shape: shapeName(shape), valueBytes, valuesPerSec: spread(w.map((x) => x.perSec)),
      mbPerSec: spread(w.map((x) => (x.perSec * valueBytes) / 1e6)), p50Micros: spread(w.map((x) => x.p50)),
      cpuMicrosPerValue: spread(w.map((x) => x.cpuMicrosPerValue)), valuesPerInstance: await valuesPerInstance(cluster),
    };
  }, bulk);
}

/** Batched 16 B with durable acceptors (`sync: 'batch'`, group commit) in a temp data directory. */
async function batchedDurable(shape: Shape): Promise<BatchedFigure> {
  step(`batched ${shapeName(shape)}: 16-byte values, durable acceptors (sync batch)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'paxos-bench-data-'));
  try {
    return await withCluster(`batched durable ${shapeName(shape)}`, { ...shape, maxOutstanding: 1 << 16, dataDir, sync: 'batch', trim: true },
      'x'.repeat(16), async (load, cluster) => {
        load.closedLoop(plan.batchedOutstanding);
        const w = await measured(load);
        return {
          shape: shapeName(shape), valueBytes: 16, valuesPerSec: spread(w.map((x) => x.perSec)),
          mbPerSec: spread(w.map((x) => (x.perSec * 16) / 1e6)), p50Micros: spread(w.map((x) => x.p50)),
          cpuMicrosPerValue: spread(w.map((x) => x.cpuMicrosPerValue)), valuesPerInstance: await valuesPerInstance(cluster),
        };
      });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Low-load latency (one outstanding), then, given the batched peak, open loop at half of it. */
async function latency(shape: Shape, peak: number | undefined): Promise<LatencyFigure[]> {
  step(`latency ${shapeName(shape)}: one outstanding${peak ? ', half of peak' : ''}`);
  return withCluster(`latency ${shapeName(shape)}`, { ...shape, maxOutstanding: 1 << 16 }, 'x'.repeat(16), async (load) => {
    const out: LatencyFigure[] = [];
    await load.lowLoad(Math.round(plan.lowLoadValues / 4), 5); // warm-up
    const low = await reps(plan.reps, () => load.lowLoad(plan.lowLoadValues, plan.seconds * 3));
    out.push(latencyOf(shape, 'one outstanding', low));
    out.push(latencyOf(shape, 'read barrier, one at a time', await reps(plan.reps, () => load.barriers(Math.round(plan.lowLoadValues / 2), plan.seconds * 3))));
    if (!peak) return out;
    load.skipped = 0;
    load.openLoop(peak / 2);
    const half = await measured(load);
    out.push(latencyOf(shape, `open loop at ${num(peak / 2)}/s (half of peak)`, half, load.skipped));
    return out;
  });
}

async function soakFigureOf(shape: Shape): Promise<SoakFigure> {
  step(`soak ${shapeName(shape)}: RSS at peak load for ${plan.soak} s`);
  // `trim`: the configuration meant for long runs (without it every worker keeps the whole log, by design).
  return withCluster(`soak ${shapeName(shape)}`, { ...shape, maxOutstanding: 1 << 16, trim: true, trimKeepInstances: 64 }, 'x'.repeat(16), async (load) => {
    load.closedLoop(plan.batchedOutstanding);
    return soakRss(load);
  });
}

async function soakRss(load: Load): Promise<SoakFigure> {
  const samples: { t: number; rssMiB: number }[] = [];
  const mib = () => process.memoryUsage.rss() / 2 ** 20;
  const capMiB = mib() + plan.rssCapBytes / 2 ** 20;
  const every = Math.max(0.25, Math.min(1, plan.soak / 20));
  let values = 0;
  let elapsed = 0;
  let stoppedAtCap = false;
  samples.push({ t: 0, rssMiB: mib() });
  while (elapsed < plan.soak) {
    const w = await load.measure(every);
    values += w.values;
    elapsed += w.seconds;
    const rss = mib();
    samples.push({ t: elapsed, rssMiB: rss });
    if (rss > capMiB) {
      stoppedAtCap = true;
      break;
    }
  }
  // Warm-up: the first quarter of the soak (at least two samples) fills pools, JIT, buffers and the
  // trim window. After it, compare the mean RSS of the first and the last third of the samples
  // (means, because the GC sawtooth makes single samples swing by tens of MiB).
  const warmIndex = Math.min(samples.length - 1, Math.max(2, Math.floor(samples.length / 4)));
  const after = samples.slice(warmIndex);
  const third = Math.max(1, Math.floor(after.length / 3));
  const mean = (xs: { rssMiB: number }[]) => xs.reduce((a, x) => a + x.rssMiB, 0) / xs.length;
  const early = mean(after.slice(0, third));
  const late = mean(after.slice(-third));
  const growth = late - early;
  const span = (after[after.length - 1]!.t + after[after.length - third]!.t) / 2 - (after[0]!.t + after[third - 1]!.t) / 2;
  const valuesInSpan = (values / Math.max(elapsed, 1e-9)) * span;
  return {
    seconds: elapsed, valuesPerSec: values / elapsed, samples, warmRssMiB: early, endRssMiB: late, growthMiB: growth,
    bytesPerValue: valuesInSpan > 0 ? Math.max(0, (growth * 2 ** 20) / valuesInSpan) : 0,
    // Flat: the late mean at most 5 % (and at least 32 MiB, GC heap sizing) above the early one.
    flat: !stoppedAtCap && growth <= Math.max(32, early * 0.05),
    stoppedAtCap,
    conclusive: stoppedAtCap || elapsed >= 20,
  };
}

type UdpFigure = { skipped: string } | { valuesPerSec: Spread; mbPerSec: Spread; datagrams: number };

async function udpFigure(mode: UdpMode): Promise<UdpFigure> {
  step(`${mode}: batched 16 B over UDP in a private network namespace`);
  const reason = args['no-multicast'] ? 'disabled with --no-multicast' : multicastSkipReason();
  if (reason) return { skipped: reason };
  const r: MulticastResult = await runMulticast(16, plan.reps, plan.seconds, plan.warm, quick ? 25_000 : 120_000, mode);
  return { valuesPerSec: spread(r.valuesPerSec), mbPerSec: spread(r.valuesPerSec.map((v) => (v * 16) / 1e6)), datagrams: r.datagrams };
}

// ------------------------------------------------------------------------------------ run

const SECTIONS = ['raw', 'unbatched', 'batched', 'large', 'multicast', 'unicast', 'state', 'membership'];
const only = new Set(args.only ? args.only.split(',') : SECTIONS);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s}; expected ${SECTIONS.join(',')}`);
const run = <T>(name: string, label: string, body: () => Promise<T>): Promise<T | undefined> =>
  only.has(name) ? section(label, body) : Promise.resolve(undefined);

const startedAt = new Date();
const loadAvgAtStart = loadavg().map((x) => Number(x.toFixed(2)));
const raw = await run('raw', 'raw bus', rawFigures);
const unbatchedFigures: UnbatchedFigure[] = [];
for (const window of plan.windows) {
  const f = await run('unbatched', `unbatched window ${window}`, () => unbatched(SHAPE_DEFAULT, window));
  if (f) unbatchedFigures.push(f);
}
const batchedFigures: BatchedFigure[] = [];
for (const valueBytes of plan.sizes) {
  const f = await run('batched', `batched ${valueBytes} B`, () => batched(SHAPE_DEFAULT, valueBytes));
  if (f) batchedFigures.push(f);
}
const bulk16 = await run('batched', 'batched 16 B bulk', () => batched(SHAPE_DEFAULT, 16, true));
const loss16 = await run('batched', 'batched 16 B 10% loss', () => batched(SHAPE_DEFAULT, 16, false, { faults: { loss: 0.1 } }));
const durable16 = await run('batched', 'batched 16 B durable', () => batchedDurable(SHAPE_DEFAULT));
const peak16 = batchedFigures.find((b) => b.valueBytes === 16)?.valuesPerSec.median;
const latencyFigures = (await run('batched', 'latency', () => latency(SHAPE_DEFAULT, peak16))) ?? [];
const soakFigure = await run('batched', 'soak', () => soakFigureOf(SHAPE_DEFAULT));
const main = only.has('batched') ? { batched: batchedFigures, latency: latencyFigures, soak: soakFigure } : undefined;
const largeUnbatched = await run('large', 'unbatched 5 acceptors', () => unbatched(SHAPE_LARGE, 256));
const largeBatched = await run('large', 'batched 5 acceptors', () => batched(SHAPE_LARGE, 16));
const largeLatency = await run('large', 'latency 5 acceptors', () => latency(SHAPE_LARGE, undefined));
const large = only.has('large') ? { batched: largeBatched ? [largeBatched] : [], latency: largeLatency ?? [] } : undefined;
const mc = await run('multicast', 'multicast', () => udpFigure('multicast'));
const uc = await run('unicast', 'unicast', () => udpFigure('unicast'));
const restore = await run('state', 'state restore', () => stateRestore(quick ? 4 : 32));
const dip = await run('membership', 'membership change', () => membershipDip(quick ? 3 : 9));
progress.end();

// ------------------------------------------------------------------------------------ report

const med = (s: Spread | undefined) => s?.median ?? 0;
const fmtSpread = (s: Spread, digits = 0) => [num(s.min, digits), num(s.median, digits), num(s.max, digits)];
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? a / b : 0);
const pct = (x: number) => (x > 0 ? `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %` : '-');

const rawMsgs = med(raw?.msgsPerSec);
const rawRtt = med(raw?.rttMicros);
const u256 = unbatchedFigures.find((f) => f.window === 256);
const b16 = main?.batched.find((b) => b.valueBytes === 16);
const low = main?.latency[0];
const rawAt = (valueBytes: number) => raw?.batches.find((b) => b.valueBytes === valueBytes);

const rows: string[][] = [];
const row = (figure: string, s: Spread | undefined, unit: string, vsRaw: string, digits = 0) =>
  rows.push([figure, ...(s ? fmtSpread(s, digits) : ['-', '-', '-']), unit, vsRaw]);
if (raw) {
  row('raw bus one-way, 1 value/msg', raw.msgsPerSec, 'msgs/s', '');
  for (const b of raw.batches) row(`raw bus ${b.valueBytes} B values, ${b.batch}/msg`, b.valuesPerSec, 'values/s', '');
  row('raw bus round trip (median)', raw.rttMicros, 'µs', '');
  row('raw bus round trip (p99)', raw.rttP99Micros, 'µs', '');
}
for (const f of unbatchedFigures) {
  row(`unbatched ${f.shape}, window ${f.window}`, f.instancesPerSec, 'inst/s', pct(ratio(f.instancesPerSec.median, rawMsgs)));
  row(`  CPU per instance, all threads`, f.cpuMicrosPerValue, 'µs', '', 1);
}
if (largeUnbatched) row(`unbatched ${largeUnbatched.shape}, window 256`, largeUnbatched.instancesPerSec, 'inst/s', pct(ratio(largeUnbatched.instancesPerSec.median, rawMsgs)));
for (const b of [...(main?.batched ?? []), ...(large?.batched ?? [])]) {
  row(`batched ${b.shape}, ${b.valueBytes} B`, b.valuesPerSec, 'values/s', pct(ratio(b.valuesPerSec.median, med(rawAt(b.valueBytes)?.valuesPerSec))));
  row(`batched ${b.shape}, ${b.valueBytes} B`, b.mbPerSec, 'MB/s', '', 1);
  row(`  CPU per value, all threads`, b.cpuMicrosPerValue, 'µs', '', 2);
  rows.push([`  values per instance (leader, mean)`, '', num(b.valuesPerInstance), '', 'values', `raw: ${num(rawAt(b.valueBytes)?.batch ?? 0)}/msg`]);
}
if (bulk16) {
  row(`batched ${bulk16.shape}, 16 B, submitMany + learnedBatches`, bulk16.valuesPerSec, 'values/s', `${pct(ratio(bulk16.valuesPerSec.median, med(b16?.valuesPerSec)))} of per-value`);
  row(`  CPU per value, all threads`, bulk16.cpuMicrosPerValue, 'µs', '', 2);
}
if (loss16) row(`batched ${loss16.shape}, 16 B, 10 % loss on the bus`, loss16.valuesPerSec, 'values/s', `${pct(ratio(loss16.valuesPerSec.median, med(b16?.valuesPerSec)))} of loss-free`);
if (durable16) {
  row(`batched ${durable16.shape}, 16 B, durable acceptors (sync batch)`, durable16.valuesPerSec, 'values/s',
    `${pct(ratio(durable16.valuesPerSec.median, med(b16?.valuesPerSec)))} of in-memory`);
}
for (const l of [...(main?.latency ?? []), ...(large?.latency ?? [])]) {
  const x = (v: number) => (rawRtt > 0 ? `${(v / rawRtt).toFixed(1)}x RTT` : '');
  row(`latency p50 ${l.shape}, ${l.load}`, l.p50Micros, 'µs', x(l.p50Micros.median));
  row(`latency p99 ${l.shape}, ${l.load}`, l.p99Micros, 'µs', x(l.p99Micros.median));
  row(`latency p99.9 ${l.shape}, ${l.load}`, l.p999Micros, 'µs', x(l.p999Micros.median));
}
for (const [mode, figure] of [['multicast', mc], ['unicast', uc]] as const) {
  if (figure && 'valuesPerSec' in figure) {
    row(`${mode} UDP (netns) 1c/2p/3a/2l, 16 B`, figure.valuesPerSec, 'values/s', pct(ratio(figure.valuesPerSec.median, med(b16?.valuesPerSec))) + ' of bus');
  }
}

const machine = {
  cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}`,
  totalMemMiB: Math.round(totalmem() / 2 ** 20), loadAvgAtStart, loadAvgAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
};

console.log(`paxos-cluster benchmark (${quick ? 'quick' : 'full'}): ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ` +
  `load average ${machine.loadAvgAtStart.join(' ')} at start, ${machine.loadAvgAtEnd.join(' ')} at end; ` +
  `${plan.reps} × ${plan.seconds} s windows after ${plan.warm} s warm-up; leaderTimeoutMs ${LEADER_TIMEOUT_MS}`);
console.log('submit() on the main thread → delivery by learned() on the main thread; "vs raw" = Paxos / raw bus in this run\n');
console.log(table(['figure', 'min', 'median', 'max', 'unit', 'vs raw'], rows));

const soak = main?.soak;
if (soak) {
  const trace = soak.samples.filter((_, i) => i % Math.max(1, Math.floor(soak.samples.length / 12)) === 0).map((s) => `${s.t.toFixed(0)}s ${s.rssMiB.toFixed(0)}`).join(', ');
  console.log(`\nRSS soak at peak load (16 B, ${plan.batchedOutstanding} outstanding, trim: true, trimKeepInstances: 64), ${soak.seconds.toFixed(0)} s at ${num(soak.valuesPerSec)} values/s: ` +
    `mean ${soak.warmRssMiB.toFixed(0)} MiB early after warm-up → ${soak.endRssMiB.toFixed(0)} MiB late (${soak.growthMiB >= 0 ? '+' : ''}${soak.growthMiB.toFixed(0)} MiB, ` +
    `${soak.bytesPerValue.toFixed(0)} bytes per value ordered): ${!soak.conclusive ? 'too short to judge (use --soak 60)' : soak.flat ? 'FLAT' : 'GROWS'}${soak.stoppedAtCap ? ` (stopped at the ${(plan.rssCapBytes / 2 ** 30).toFixed(1)} GiB cap)` : ''}`);
  console.log(`  RSS MiB over time: ${trace}`);
}
if (mc && 'skipped' in mc) console.log(`\nmulticast mode skipped: ${mc.skipped}`);
if (uc && 'skipped' in uc) console.log(`\nunicast mode skipped: ${uc.skipped}`);
const flapping = leaderChanges.filter((c) => c.changes > 0);
console.log(flapping.length ? `\nleader changed during: ${flapping.map((c) => `${c.figure} (${c.changes}×)`).join(', ')} — those figures include a re-election`
  : '\nno leader change during any figure');

const target = (ok: boolean) => (ok ? 'met' : 'MISSED');
const figures = {
  'raw.msgsPerSec': rawMsgs,
  'raw.rttMicros': rawRtt,
  'unbatched.instancesPerSec': med(u256?.instancesPerSec),
  'batched.valuesPerSec': med(b16?.valuesPerSec),
  'latency.p50Micros': med(low?.p50Micros),
  'latency.p99Micros': med(low?.p99Micros),
  // A read barrier on an idle cluster: client → leader, one confirm round, the answer back.
  'latency.barrierP50Micros': med(main?.latency.find((l) => l.load.startsWith('read barrier'))?.p50Micros),
  'ratios.unbatchedVsRaw': ratio(med(u256?.instancesPerSec), rawMsgs),
  'ratios.latencyVsRtt': ratio(med(low?.p50Micros), rawRtt),
  'batched.valuesPerSecDurable': med(durable16?.valuesPerSec),
  'ratios.durableVsMemory': ratio(med(durable16?.valuesPerSec), med(b16?.valuesPerSec)),
  'batched.cpuMicrosPerValue': med(b16?.cpuMicrosPerValue),
  'batched.bulkValuesPerSec': med(bulk16?.valuesPerSec),
  'batched.bulkCpuMicrosPerValue': med(bulk16?.cpuMicrosPerValue),
  'ratios.fiveAcceptorsVsThree': ratio(med(largeBatched?.valuesPerSec), med(b16?.valuesPerSec)),
  'multicast.valuesPerSec': mc && 'valuesPerSec' in mc ? med(mc.valuesPerSec) : 0,
  'batched.valuesPerSecLoss10': med(loss16?.valuesPerSec),
  // RSS at peak load: the highest sample of the soak (16 B at peak, trim on). The process's
  // lifetime peak is reported beside it: figures without trim keep every value they ordered.
  'memory.peakRssMiB': main?.soak ? Math.max(...main.soak.samples.map((x) => x.rssMiB)) : 0,
  'memory.processMaxRssMiB': process.resourceUsage().maxRSS / 1024,
  // A replaced replica back in service from a peer's application state (restart → restored and applying).
  'state.restoreMillis': restore?.restoreMillis ?? 0,
  'state.restoreMiBPerSec': restore?.miBPerSec ?? 0,
  // A dead acceptor replaced by a spare under load: the lowest 100 ms window vs the steady state, and for how long below 80 %.
  'membership.dipPercent': dip?.dipPercent ?? 0,
  'membership.steadyDipPercent': dip?.steadyDipPercent ?? 0,
  'membership.millisBelow80': dip?.millisBelow80 ?? 0,
  'membership.reconfigureMillis': dip?.reconfigureMillis ?? 0,
  'membership.pauseMillis': dip?.pauseMillis ?? 0,
  'membership.steadyPauseMillis': dip?.steadyPauseMillis ?? 0,
};
console.log('\ntargets (issue 5):');
console.log(`  batched ≥ 1,000,000 values/s (16 B):        ${num(figures['batched.valuesPerSec'])} — ${target(figures['batched.valuesPerSec'] >= 1e6)}`);
console.log(`  unbatched ≥ 100,000 instances/s (window 256): ${num(figures['unbatched.instancesPerSec'])} — ${target(figures['unbatched.instancesPerSec'] >= 1e5)}`);
console.log(`  low-load p50 ≤ 3 × raw RTT:                  ${figures['ratios.latencyVsRtt'].toFixed(1)} × (${num(figures['latency.p50Micros'])} µs vs ${num(rawRtt, 1)} µs) — ${target(figures['ratios.latencyVsRtt'] > 0 && figures['ratios.latencyVsRtt'] <= 3)}`);
console.log(`  RSS flat at peak load:                       ${!soak ? 'not measured' : !soak.conclusive ? `not judged: a ${soak.seconds.toFixed(0)} s soak is too short (full run: 60 s)`
  : `${soak.flat ? 'flat' : `grows ${soak.growthMiB.toFixed(0)} MiB (early vs late mean)`} — ${target(soak.flat)}`}`);
console.log(`  durable (sync batch) ≥ ½ of in-memory:     ${num(figures['batched.valuesPerSecDurable'])} values/s = ` +
  `${(figures['ratios.durableVsMemory'] * 100).toFixed(0)} % — ${target(figures['ratios.durableVsMemory'] >= 0.5)}`);
console.log('targets (issue 12):');
console.log(`  batched CPU ≤ 2 µs per value, all threads:  ${num(figures['batched.cpuMicrosPerValue'], 2)} µs (bulk API ${num(figures['batched.bulkCpuMicrosPerValue'], 2)} µs) — ${target(figures['batched.cpuMicrosPerValue'] > 0 && figures['batched.cpuMicrosPerValue'] <= 2)}`);
console.log(`  bulk API (submitMany + learnedBatches):      ${num(figures['batched.bulkValuesPerSec'])} values/s`);
console.log(`  5 acceptors ≥ 70 % of 3:                     ${pct(figures['ratios.fiveAcceptorsVsThree'])} — ${target(figures['ratios.fiveAcceptorsVsThree'] >= 0.7)}`);
console.log(`  10 % loss ≥ ½ of loss-free:                  ${num(figures['batched.valuesPerSecLoss10'])} values/s = ${pct(ratio(figures['batched.valuesPerSecLoss10'], figures['batched.valuesPerSec']))} — ${target(ratio(figures['batched.valuesPerSecLoss10'], figures['batched.valuesPerSec']) >= 0.5)}`);
console.log(`  multicast processes ≥ 500,000 values/s:      ${num(figures['multicast.valuesPerSec'])} — ${target(figures['multicast.valuesPerSec'] >= 5e5)}`);
console.log(`  RSS at peak load (soak) ≤ 256 MiB:           ${num(figures['memory.peakRssMiB'])} MiB — ${target(figures['memory.peakRssMiB'] > 0 && figures['memory.peakRssMiB'] <= 256)}` +
  ` (the process's lifetime peak, figures without trim included: ${num(figures['memory.processMaxRssMiB'])} MiB)`);
if (restore || dip) console.log('issue 13:');
if (restore) console.log(`  a replaced replica restores a ${restore.stateMiB} MiB peer state: ${num(restore.restoreMillis)} ms (${num(restore.miBPerSec, 1)} MiB/s)`);
if (dip) {
  console.log(`  a dead acceptor replaced under load: reconfigure() ${num(dip.reconfigureMillis)} ms; lowest 250 ms window ${num(dip.lowestValuesPerSec)} vs ` +
    `${num(dip.baselineValuesPerSec)} values/s (a ${num(dip.dipPercent)} % dip; noise alone: ${num(dip.steadyDipPercent)} %), ` +
    `${num(dip.millisBelow80)} ms below 80 %; longest pause without a delivery ${num(dip.pauseMillis, 1)} ms around the change, ` +
    `${num(dip.steadyPauseMillis, 1)} ms in the steady state (OmniPaxos: ≤ 20 % for ≤ 15 s)`);
}
if (errors.length) console.log(`\nerrors:\n  ${errors.join('\n  ')}`);

if (args.json) {
  const nested = {
    raw: { msgsPerSec: rawMsgs, rttMicros: rawRtt, spread: raw },
    unbatched: { instancesPerSec: figures['unbatched.instancesPerSec'], windows: unbatchedFigures, large: largeUnbatched },
    batched: {
      valuesPerSec: figures['batched.valuesPerSec'], valuesPerSecDurable: figures['batched.valuesPerSecDurable'], sizes: main?.batched, durable: durable16,
      bulk: bulk16, loss10: loss16, large: large?.batched,
    },
    latency: { p50Micros: figures['latency.p50Micros'], p99Micros: figures['latency.p99Micros'], runs: [...(main?.latency ?? []), ...(large?.latency ?? [])] },
    ratios: { unbatchedVsRaw: figures['ratios.unbatchedVsRaw'], latencyVsRtt: figures['ratios.latencyVsRtt'] },
    soak,
    multicast: mc,
    unicast: uc,
    state: restore,
    membership: dip,
    leaderChanges,
  };
  const out = {
    ...figures, machine, mode: quick ? 'quick' : 'full', startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000), plan, errors, ...nested,
  };
  writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
  const svgPath = join(dirname(args.json), `${basename(args.json, extname(args.json))}.svg`);
  const allUnbatched = [...unbatchedFigures, ...(largeUnbatched ? [largeUnbatched] : [])];
  const shapes = [...new Set(allUnbatched.map((f) => f.shape))];
  writeFileSync(svgPath, svgChart([
    {
      title: 'Unbatched: instances/s vs window', xLabel: 'window (instances in flight)', yLabel: 'instances/s', logX: true,
      series: shapes.map((s) => ({ name: `Paxos ${s}`, points: allUnbatched.filter((f) => f.shape === s).map((f) => ({ x: f.window, y: f.instancesPerSec.median })) })),
    },
    {
      title: 'Batched: values/s vs value size', xLabel: 'value size (bytes)', yLabel: 'values/s', logX: true,
      series: [
        { name: `Paxos ${shapeName(SHAPE_DEFAULT)}`, points: (main?.batched ?? []).map((b) => ({ x: b.valueBytes, y: b.valuesPerSec.median })) },
        { name: 'raw bus, same batch/msg', points: (raw?.batches ?? []).map((b) => ({ x: b.valueBytes, y: b.valuesPerSec.median })) },
      ],
    },
  ], `${machine.cpus} CPUs, Node ${machine.node}, ${startedAt.toISOString().slice(0, 16)}Z; raw bus one-way ${num(rawMsgs)} msgs/s, RTT ${num(rawRtt, 1)} µs`));
  console.log(`\nwrote ${args.json} and ${svgPath}`);
}
process.exitCode = errors.length ? 1 : 0;
