/** Sizes: batches are bounded in bytes so that an encoded message fits one datagram. */
import type { Payload, Submission, Batch, ClientMark } from './messages.js';

/** Exact UTF-8 length of a string without touching Node or DOM APIs. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { bytes += 4; i++; }
    else bytes += 3;
  }
  return bytes;
}

/** Per-value framing overhead assumed by size estimates (ids, seq, length prefixes). */
export const SUBMISSION_OVERHEAD = 24;

export function payloadSize(value: Payload): number {
  return typeof value === 'string' ? utf8Length(value) : value.byteLength;
}

export function submissionSize(s: Submission): number {
  return SUBMISSION_OVERHEAD + payloadSize(s.value);
}

/** Upper bound of a client mark's encoded size, for splitting snapshots into parts. */
export function markSize(mark: ClientMark): number {
  return 40 + 9 * mark.above.length;
}

export function batchSize(batch: Batch): number {
  let total = 0;
  for (const s of batch) total += submissionSize(s);
  return total;
}
