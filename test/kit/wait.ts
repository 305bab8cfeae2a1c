/** Waiting in tests: a plain sleep, and polling a condition until it holds or a time runs out. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Check `condition` every `everyMs` until it holds or `timeoutMs` have passed. Resolves whether
 * it held: for waits whose running out is no failure, e.g. "inject the fault once a quarter is
 * learned, or after 10 s anyway".
 */
export async function poll(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/** Like `poll`, but fails with "timed out after `timeoutMs` ms waiting for `what`" when it runs out. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  if (!(await poll(condition, timeoutMs, everyMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
