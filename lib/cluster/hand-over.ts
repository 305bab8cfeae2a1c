/**
 * Planned leader changes from the main thread: `transferLeadership(to)` asks the leader's worker
 * to hand over (see lib/protocol/leadership-transfer.ts), or, when the leader runs in another
 * process, has a proposer hosted here ask it (`transferRequest`, resent until `to` leads), and
 * waits until `to` leads; a per-host `stop()` of the leader's process first hands over to the
 * highest proposer elsewhere.
 */
import type { Remote } from 'comlink';
import type { ResolvedOptions } from '../protocol/options.js';
import { TransferFailedError, UnknownMemberError } from './errors.js';
import { type LeaderSource, waitForLeader } from './leader-wait.js';
import type { KeepAlive } from './keep-alive.js';
import type { WorkerControl } from './worker-protocol.js';

/** @internal What a hand-over needs of its cluster. */
export interface HandOverContext {
  readonly protocol: ResolvedOptions;
  /** The proposers this process hosts. */
  readonly hosted: readonly number[];
  leader(): number | undefined;
  control(proposer: number): Remote<WorkerControl> | undefined;
  readonly waits: { readonly source: LeaderSource; readonly keepAlive: KeepAlive; readonly onStop: Set<() => void> };
  log(line: string): void;
}

export async function handOver(ctx: HandOverContext, to: number, options: { readonly signal?: AbortSignal; readonly timeoutMs?: number }): Promise<void> {
  const { proposers, leaderTimeoutMs } = ctx.protocol;
  if (!Number.isInteger(to) || to < 0 || to >= proposers) throw new UnknownMemberError('proposers', to, proposers);
  const from = ctx.leader();
  if (from === to) return;
  if (from === undefined) throw new TransferFailedError(to, 'no proposer leads');
  const leads = waitForLeader(ctx.waits, { what: 'transferLeadership()', accept: (l) => l === to, signal: options.signal,
    timeoutMs: options.timeoutMs ?? 2 * leaderTimeoutMs + 1000,
    onTimeout: () => new TransferFailedError(to, `proposers/${to} did not take over in time; proposers/${from} leads on`) });
  if (ctx.hosted.includes(from)) {
    const control = ctx.control(from);
    if (!control || !(await control.transferLeadership(from, to))) {
      leads.catch(() => undefined);
      throw new TransferFailedError(to, `proposers/${from} no longer leads`);
    }
    await leads;
    return;
  }
  // The leader runs elsewhere: a hosted proposer asks it, again every retransmit interval (requests get lost).
  const asker = ctx.hosted.find((id) => ctx.control(id) !== undefined);
  if (asker === undefined) {
    leads.catch(() => undefined);
    throw new TransferFailedError(to, `proposers/${from} leads in another process, and no proposer runs in this one to ask it`);
  }
  const ask = (): void => void ctx.control(asker)?.requestTransfer(asker, to).catch(() => undefined);
  ask();
  const resend = setInterval(ask, ctx.protocol.retransmitMs);
  try {
    await leads;
  } finally {
    clearInterval(resend);
  }
}

/** A per-host stop of the leader's host hands over to the highest proposer elsewhere first (best effort, one leader timeout at most). */
export async function handOverBeforeStop(ctx: HandOverContext): Promise<void> {
  const leader = ctx.leader();
  const elsewhere = Array.from({ length: ctx.protocol.proposers }, (_, id) => id).filter((id) => !ctx.hosted.includes(id));
  if (leader === undefined || !ctx.hosted.includes(leader) || elsewhere.length === 0) return;
  await handOver(ctx, elsewhere.at(-1)!, { timeoutMs: ctx.protocol.leaderTimeoutMs }).then(
    () => ctx.log(`handed leadership over to proposers/${elsewhere.at(-1)} before stopping`),
    (e: unknown) => ctx.log(`stopping without a hand-over: ${(e as Error).message}`));
}
