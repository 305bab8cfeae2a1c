/** Waiting for the leader the cluster follows to be one a caller accepts (`ready()`, `transferLeadership()`). */
import type { KeepAlive } from './keep-alive.js';
import { ClusterStoppedError } from './errors.js';

export interface LeaderSource {
  readonly leader: number | undefined;
  on(event: 'leader', listener: () => void): unknown;
  off(event: 'leader', listener: () => void): unknown;
}

export interface LeaderWait {
  /** Names the call in the rejection when the cluster stops. */
  readonly what: string;
  readonly accept: (leader: number | undefined) => boolean;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly onTimeout: () => Error;
}

/**
 * Resolves with the leader once `accept` takes it (checked at once, then on every change);
 * rejects with the signal's reason, `onTimeout()` after `timeoutMs`, or `ClusterStoppedError`
 * when `stop()` runs the hook it registers in `onStop`. Holds the process alive meanwhile.
 */
export function waitForLeader(
  cluster: { readonly source: LeaderSource; readonly keepAlive: KeepAlive; readonly onStop: Set<() => void> }, wait: LeaderWait,
): Promise<number> {
  const { source, keepAlive, onStop: stopHooks } = cluster;
  const { what, accept, signal, timeoutMs, onTimeout } = wait;
  return new Promise<number>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    keepAlive.hold();
    const settle = (outcome: () => void): void => {
      keepAlive.release();
      source.off('leader', onLeader);
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      stopHooks.delete(onStop);
      outcome();
    };
    const onLeader = (): void => { const leader = source.leader; if (accept(leader)) settle(() => resolve(leader!)); };
    const onAbort = (): void => settle(() => reject(signal!.reason as Error));
    const onStop = (): void => settle(() => reject(new ClusterStoppedError(what)));
    source.on('leader', onLeader);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => settle(() => reject(onTimeout())), timeoutMs);
    stopHooks.add(onStop);
    onLeader();
  });
}
