/**
 * The throughput dip while a dead acceptor is replaced (issue 13; OmniPaxos reports at most 20 %
 * for at most 15 s). One client keeps 1,024 values outstanding (four loops of `submitMany`),
 * learner 0's `learnedBatches()` counts deliveries in 250 ms windows. After a steady phase,
 * acceptors/2 is killed; a little later `reconfigure()` replaces it by the spare acceptors/3,
 * then acceptors/0 is killed too, so that only the new member keeps a quorum with acceptors/1.
 * Reported: the baseline (median window before the kill) and the steady state's own lowest
 * window (the noise), the lowest window from the kill to one second after the change and the
 * windows below 80 % of the baseline from the kill on, and how long `reconfigure()` took.
 */
import { Cluster } from '../lib/cluster/cluster.js';

export interface MembershipDipFigure {
  readonly baselineValuesPerSec: number;
  /** The lowest window before the kill, as a share below the baseline: what noise alone does. */
  readonly steadyDipPercent: number;
  /** The lowest window from the kill to one second after the change, as values/s, and as a share below the baseline. */
  readonly lowestValuesPerSec: number;
  readonly dipPercent: number;
  /** Total time of the windows below 80 % of the baseline after the kill. */
  readonly millisBelow80: number;
  readonly reconfigureMillis: number;
  /** The longest time without a delivery around the change (from the call to 500 ms after), and in the steady state before the kill. */
  readonly pauseMillis: number;
  readonly steadyPauseMillis: number;
  readonly windows: readonly number[];
}

const WINDOW_MS = 250;

export async function membershipDip(seconds: number): Promise<MembershipDipFigure> {
  await using cluster = await Cluster.start<string>({
    proposers: 2, acceptors: 4, initialAcceptors: [0, 1, 2], learners: 2, clients: 1, trim: true,
  });
  await cluster.ready({ timeoutMs: 20_000 });
  const stop = new AbortController();
  const windows: number[] = [];
  let count = 0;
  const arrivals: number[] = [];
  const counting = (async () => {
    for await (const batch of cluster.learnedBatches({ signal: stop.signal })) {
      count += batch.length;
      arrivals.push(performance.now());
    }
  })().catch(() => undefined);
  const longestGap = (from: number, to: number): number => {
    let gap = 0;
    for (let i = 1; i < arrivals.length; i++) if (arrivals[i]! > from && arrivals[i - 1]! < to) gap = Math.max(gap, arrivals[i]! - arrivals[i - 1]!);
    return gap;
  };
  const begun = performance.now();
  const ticker = setInterval(() => {
    windows.push((count * 1000) / WINDOW_MS);
    count = 0;
  }, WINDOW_MS);
  let n = 0;
  // Four writers of 256 values each: 1,024 outstanding, the client's limit.
  const writing = Promise.all([0, 1, 2, 3].map(async () => {
    while (!stop.signal.aborted) await cluster.submitMany(Array.from({ length: 256 }, () => `v${n++}`)).catch(() => undefined);
  }));
  const total = Math.max(3, seconds);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep((total * 1000) / 3);
  const killAt = windows.length;
  const killedAt = performance.now();
  await cluster.kill('acceptors', 2);
  await sleep(300);
  const started = performance.now();
  await cluster.reconfigure({ acceptors: [0, 1, 3] });
  const reconfigureMillis = performance.now() - started;
  const changedAt = windows.length;
  await cluster.kill('acceptors', 0);
  await sleep((total * 1000) / 2);
  stop.abort();
  clearInterval(ticker);
  await writing;
  await counting;
  // The first second is warm-up (JIT, the first elections of batches): not the steady state.
  const before = windows.slice(1000 / WINDOW_MS, killAt).sort((a, b) => a - b);
  const baseline = before[Math.floor(before.length / 2)] ?? 0;
  const after = windows.slice(killAt, -1);
  const lowest = Math.min(...windows.slice(killAt, changedAt + 1000 / WINDOW_MS + 1));
  return {
    baselineValuesPerSec: baseline,
    steadyDipPercent: baseline > 0 ? Math.max(0, (1 - before[0]! / baseline) * 100) : 0,
    lowestValuesPerSec: lowest,
    dipPercent: baseline > 0 ? Math.max(0, (1 - lowest / baseline) * 100) : 0,
    millisBelow80: after.filter((w) => w < 0.8 * baseline).length * WINDOW_MS,
    reconfigureMillis,
    pauseMillis: longestGap(started, started + reconfigureMillis + 500),
    steadyPauseMillis: longestGap(begun + 1000, killedAt),
    windows,
  };
}
