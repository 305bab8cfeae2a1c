/**
 * A writer process for the crash test: appends accepts for instances 0, 1, 2, ... with several
 * flushes in flight, and prints `ack <instance>` on stdout after each flush() covering that
 * instance resolves. The parent SIGKILLs it at an arbitrary moment.
 * Usage: node writer-child.js <dir> <always|batch|none>
 */
import { openAcceptorStore, type SyncPolicy } from '../../lib/storage/index.js';
import { expectedValue } from './fixtures.js';

// Never outlive a parent that failed to kill us.
setTimeout(() => process.exit(2), 60_000).unref();

const [dir, sync] = process.argv.slice(2) as [string, SyncPolicy];
const store = await openAcceptorStore(dir, { sync });
const start = store.recovered.accepted.length;

let instance = start;
const inFlight = new Set<Promise<void>>();
for (;;) {
  const i = instance++;
  store.append([
    { kind: 'accept', instance: i, ballot: { round: 1, node: 2 ** 32 }, batch: [{ client: 7, seq: i, value: expectedValue(i) }] },
  ]);
  const p = store.flush().then(() => { process.stdout.write(`ack ${i}\n`); });
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
  // Keep up to 8 flushes outstanding, as an acceptor answering several proposals would.
  if (inFlight.size >= 8) await Promise.race(inFlight);
}
