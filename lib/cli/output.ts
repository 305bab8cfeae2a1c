/** The CLI's two outputs: diagnostics on stderr, learned values on stdout (nothing else there). */
import { writeSync } from 'node:fs';
import type { Delivery } from '../protocol/role.js';

export function stderr(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr gone: nothing to tell anyone
  }
}

/** Write all of `data` to stdout synchronously, riding out EAGAIN on a non-blocking pipe. */
export function writeStdout(data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(1, data, offset, data.length - offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(0);
      throw err;
    }
  }
}

/** A learner's output: each learned value on a line of its own, in the total order, at once. */
export function printDeliveries(deliveries: readonly Delivery[]): void {
  if (deliveries.length === 0) return;
  const parts: (string | Uint8Array)[] = [];
  let text = '';
  for (const d of deliveries) {
    if (typeof d.value === 'string') text += d.value + '\n';
    else {
      if (text) parts.push(text);
      parts.push(d.value, '\n');
      text = '';
    }
  }
  if (text) parts.push(text);
  writeStdout(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
}
