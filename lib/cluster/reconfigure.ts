/**
 * Membership change from the main thread (see lib/protocol/membership.ts): `reconfigure()` has a
 * proposer hosted here ask whoever leads to end the current epoch with a stop-sign naming the
 * new acceptors, asks again every client retry interval (a request can be lost, or reach a
 * proposer that no longer leads), and resolves once the hosted proposer's log has crossed into
 * the new epoch.
 */
import { type MembershipRequest, resolveMembership } from '../protocol/membership.js';
import { MembershipChangeError } from './errors.js';
import type { HandOverContext } from './hand-over.js';

/** The acceptors of an epoch and their quorums, and the instance and position it starts at. */
export interface Membership {
  readonly epoch: number;
  readonly acceptors: readonly number[];
  readonly phase1Quorum: number;
  readonly phase2Quorum: number;
  /** The first instance of the epoch, and the position of its first value: every value from here on was ordered by these acceptors. */
  readonly instance: number;
  readonly position: number;
}

export interface ReconfigureOptions {
  readonly signal?: AbortSignal;
  /** Default: ten leader timeouts plus one second. */
  readonly timeoutMs?: number;
}

const POLL_MS = 5;

/** The membership a hosted proposer's log is in (undefined: no proposer runs here). */
export async function currentMembership(ctx: HandOverContext): Promise<Membership | undefined> {
  const asker = ctx.hosted.find((id) => ctx.control(id) !== undefined);
  return asker === undefined ? undefined : ctx.control(asker)!.membership(asker);
}

export async function reconfigure(ctx: HandOverContext, request: MembershipRequest, options: ReconfigureOptions = {}): Promise<Membership> {
  resolveMembership(request, ctx.protocol.acceptors, 0); // a ConfigurationError here, for a membership that cannot work
  const asker = ctx.hosted.find((id) => ctx.control(id) !== undefined);
  if (asker === undefined) throw new MembershipChangeError('no proposer runs in this process to ask the leader');
  const control = () => {
    const c = ctx.control(asker);
    if (!c) throw new MembershipChangeError(`proposers/${asker} stopped`);
    return c;
  };
  const target = await control().requestReconfiguration(asker, request);
  ctx.log(`reconfigure: epoch ${target}, acceptors ${request.acceptors.join(',')}`);
  const timeoutMs = options.timeoutMs ?? 10 * ctx.protocol.leaderTimeoutMs + 1000;
  const deadline = Date.now() + timeoutMs;
  let askedAt = Date.now();
  for (;;) {
    options.signal?.throwIfAborted();
    const now = await control().membership(asker);
    if (now.epoch >= target) {
      if (now.epoch > target || !sameSet(now.acceptors, request.acceptors)) {
        throw new MembershipChangeError(`another change took epoch ${target} first (now epoch ${now.epoch}: acceptors ${now.acceptors.join(',')})`);
      }
      return now;
    }
    if (Date.now() > deadline) throw new MembershipChangeError(`epoch ${target} did not start within ${timeoutMs} ms (is a quorum of the current acceptors up?)`);
    if (Date.now() - askedAt >= ctx.protocol.clientRetryMs) {
      askedAt = Date.now();
      await control().requestReconfiguration(asker, request);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const sameSet = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
