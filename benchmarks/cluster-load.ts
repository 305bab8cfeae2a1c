/**
 * Load generator for one `Cluster`, on the main thread, through the public API only: values go in
 * with `submit()` on client 0 and are counted when learner 0's `learned()` iterator yields them.
 * Latency is submit to delivery: the submit time is kept per client sequence number (`seq` of
 * the learned value), so no per-value closure or map is needed. Latencies go into Node's own
 * HdrHistogram (`perf_hooks.createHistogram()`, 3 significant digits) in whole nanoseconds, and
 * come out in microseconds.
 *
 * Two ways to load it:
 * - closed loop: keep `outstanding` values submitted and not yet learned (1 = low load);
 * - open loop: submit at a fixed rate, whatever comes back (used at half of the peak).
 */
import { type RecordableHistogram, createHistogram, performance } from 'node:perf_hooks';
import type { Cluster } from '../lib/cluster/cluster.js';

const RING = 1 << 22;
const MASK = RING - 1;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Window {
  /** Values learned per second over the window. */
  perSec: number;
  values: number;
  seconds: number;
  /** Latency of the values learned during the window (µs). */
  p50: number;
  p99: number;
  p999: number;
  /** CPU time of the whole process (every thread) per value learned, µs: steadier than wall time on a shared machine. */
  cpuMicrosPerValue: number;
}

/** p50 / p99 / p99.9 in µs of a histogram of nanoseconds (0 when empty, as Node's percentile() gives). */
const percentiles = (h: RecordableHistogram): Pick<Window, 'p50' | 'p99' | 'p999'> =>
  ({ p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, p999: h.percentile(99.9) / 1000 });

export class Load {
  private readonly sentAt = new Float64Array(RING);
  private submitted = 0;
  private delivered = 0;
  private closed = 0;
  private open: { timer: NodeJS.Timeout } | undefined;
  private hist: RecordableHistogram = createHistogram();
  private readonly reading: Promise<void>;
  private failure: Error | undefined;
  private stopped = false;
  private readonly onSubmitError = (e: Error): void => {
    if (!this.stopped) this.failure ??= e;
  };
  private readonly onSubmitDone = (): void => {};

  /**
   * @param value what every submit sends (identity comes from (client, seq), not from the value)
   * @param cap most values ever outstanding in open loop; beyond it submissions are skipped and counted
   */
  /**
   * @param bulk submit with `submitMany` (one call per top-up) and read with `learnedBatches()`
   *   instead of one `submit` promise and one iterator step per value
   */
  constructor(private readonly cluster: Cluster<string>, readonly value: string, private readonly cap = 1 << 20, private readonly bulk = false) {
    this.reading = this.read().catch((e: Error) => {
      this.failure ??= e;
    });
  }

  /** Values the open loop could not submit because `cap` were outstanding (overload). */
  skipped = 0;

  get outstanding(): number {
    return this.submitted - this.delivered;
  }

  private submitOne(): void {
    this.sentAt[this.submitted & MASK] = performance.now();
    this.submitted++;
    this.cluster.submit(this.value).then(this.onSubmitDone, this.onSubmitError);
  }

  private topUp(): void {
    if (this.bulk) {
      const n = this.closed - (this.submitted - this.delivered);
      if (n <= 0) return;
      const now = performance.now();
      for (let i = 0; i < n; i++) this.sentAt[(this.submitted + i) & MASK] = now;
      this.submitted += n;
      this.cluster.submitMany(new Array<string>(n).fill(this.value)).then(this.onSubmitDone, this.onSubmitError);
      return;
    }
    while (this.submitted - this.delivered < this.closed) this.submitOne();
  }

  private async read(): Promise<void> {
    if (this.bulk) {
      for await (const batch of this.cluster.learnedBatches({ learner: 0, highWaterMark: 16_384 })) {
        const now = performance.now();
        for (const v of batch) this.hist.record(Math.max(1, Math.round((now - this.sentAt[v.seq & MASK]!) * 1e6)));
        this.delivered += batch.length;
        if (this.closed) this.topUp();
      }
      return;
    }
    for await (const v of this.cluster.learned({ learner: 0, highWaterMark: 16_384 })) {
      // Whole nanoseconds, at least 1: a RecordableHistogram takes only integers >= 1.
      this.hist.record(Math.max(1, Math.round((performance.now() - this.sentAt[v.seq & MASK]!) * 1e6)));
      this.delivered++;
      if (this.closed) this.topUp();
    }
  }

  /**
   * The first value through client 0 (it waits for a leader to be elected). Call it before any
   * other value is submitted through client 0: the load's count must equal the client's seq.
   */
  async first(timeoutMs: number): Promise<void> {
    if (this.submitted !== 0) throw new Error('Load.first() must come first');
    this.closedLoop(1);
    const deadline = performance.now() + timeoutMs;
    while (this.delivered < 1) {
      this.check();
      if (performance.now() > deadline) throw new Error(`no value learned within ${timeoutMs} ms (leader election?)`);
      await sleep(5);
    }
    this.closed = 0;
  }

  /** Closed loop with `n` outstanding (0 stops submitting). */
  closedLoop(n: number): void {
    this.stopOpen();
    this.closed = n;
    this.topUp();
  }

  /** Open loop at `rate` values/s, submitted every millisecond or so. */
  openLoop(rate: number): void {
    this.closed = 0;
    this.stopOpen();
    const start = performance.now();
    /** Values the schedule has offered so far: submitted, or skipped because `cap` were outstanding. */
    let offered = 0;
    const timer = setInterval(() => {
      const due = Math.floor((rate * (performance.now() - start)) / 1000);
      while (offered < due) {
        if (this.submitted - this.delivered >= this.cap) {
          this.skipped += due - offered;
          offered = due;
          break;
        }
        this.submitOne();
        offered++;
      }
    }, 1);
    this.open = { timer };
  }

  private stopOpen(): void {
    if (this.open) clearInterval(this.open.timer);
    this.open = undefined;
  }

  /** Measure for `seconds` under the current load. Throws if the cluster failed a submission. */
  async measure(seconds: number): Promise<Window> {
    this.check();
    this.hist = createHistogram();
    const d0 = this.delivered;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (performance.now() - t0) / 1000;
    const values = this.delivered - d0;
    const hist = this.hist;
    this.check();
    return {
      perSec: values / elapsed, values, seconds: elapsed, ...percentiles(hist),
      cpuMicrosPerValue: values ? (cpu.user + cpu.system) / values : 0,
    };
  }

  /** Closed loop of one: `count` values one after another (or until `maxSeconds`). */
  async lowLoad(count: number, maxSeconds: number): Promise<Window> {
    this.stopOpen();
    this.closed = 0;
    await this.drain(10);
    this.hist = createHistogram();
    const d0 = this.delivered;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    this.closedLoop(1);
    while (this.delivered - d0 < count && performance.now() - t0 < maxSeconds * 1000) await sleep(5);
    this.closed = 0;
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (performance.now() - t0) / 1000;
    const hist = this.hist;
    const values = this.delivered - d0;
    this.check();
    return {
      perSec: values / elapsed, values, seconds: elapsed, ...percentiles(hist),
      cpuMicrosPerValue: values ? (cpu.user + cpu.system) / values : 0,
    };
  }

  /** Read barriers one at a time on an idle cluster (`count`, or `maxSeconds`): their latency, as a window. */
  async barriers(count: number, maxSeconds: number): Promise<Window> {
    await this.drain(10);
    const hist = createHistogram();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let done = 0;
    while (done < count && performance.now() - t0 < maxSeconds * 1000) {
      const asked = performance.now();
      await this.cluster.barrier();
      hist.record(Math.max(1, Math.round((performance.now() - asked) * 1e6)));
      done++;
    }
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (performance.now() - t0) / 1000;
    return { perSec: done / elapsed, values: done, seconds: elapsed, ...percentiles(hist), cpuMicrosPerValue: done ? (cpu.user + cpu.system) / done : 0 };
  }

  /** Stop submitting and wait (up to `maxSeconds`) until everything submitted was learned. */
  async drain(maxSeconds: number): Promise<boolean> {
    this.stopOpen();
    this.closed = 0;
    const deadline = performance.now() + maxSeconds * 1000;
    while (this.delivered < this.submitted && performance.now() < deadline) await sleep(5);
    return this.delivered >= this.submitted;
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  /** Stop loading; the caller stops the cluster, which ends the iterator. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopOpen();
    this.closed = 0;
  }

  /** Resolves once the cluster has stopped and the learned() loop ended. */
  async ended(): Promise<void> {
    await this.reading;
  }
}
