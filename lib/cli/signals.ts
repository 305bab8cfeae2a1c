/**
 * SIGTERM/SIGINT must end a `paxos` process with exit code 0 at any moment — also while it is
 * still loading (a harness may stop a cluster that is still starting on a busy host). The entry
 * point installs these handlers before it loads anything else; a role installs its own shutdown
 * (e.g. a learner's last flush) once it runs.
 */
let shutdown: ((signal: NodeJS.Signals) => void) | undefined;

export function installSignalHandlers(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => (shutdown ? shutdown(signal) : process.exit(0)));
  }
}

/** From now on a signal runs `handler` (which must end the process). */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): void {
  shutdown = handler;
}
