/**
 * A leader answers a learner's catch-up request from its retained log: below the trim point
 * with the trim snapshot (those values are gone; the learner continues from the snapshot), then
 * the decided batches it asked for, in messages of at most `maxBytes` each.
 */
import type { CatchupMessage, DecidedEntry, DeliverySnapshot } from './messages.js';
import { submissionSize } from './messages.js';
import type { Outbox } from './role.js';
import { splitSnapshot } from './snapshot-parts.js';

/** Bytes of a decided entry besides its values (instance number and framing). */
const ENTRY_HEADER_BYTES = 16;

/** What catch-up is served from: a learner that retains its log. */
export interface ServedLog {
  readonly delivered: number;
  readonly trimPoint: DeliverySnapshot | undefined;
  decidedEntry(instance: number): DecidedEntry | undefined;
}

export function serveCatchup(request: CatchupMessage, log: ServedLog, maxBytes: number, outbox: Outbox): void {
  let from = request.from;
  const trimPoint = log.trimPoint;
  if (trimPoint && from < trimPoint.instance) {
    for (const part of splitSnapshot(trimPoint, maxBytes)) outbox.send(request.requester, { type: 'trimmed', snapshot: part });
    from = trimPoint.instance;
  }
  const to = Math.min(request.to, log.delivered);
  let entries: DecidedEntry[] = [];
  let bytes = 0;
  for (let instance = from; instance < to; instance++) {
    const entry = log.decidedEntry(instance);
    if (!entry) break;
    let size = ENTRY_HEADER_BYTES;
    for (const s of entry.batch) size += submissionSize(s);
    if (entries.length && bytes + size > maxBytes) {
      outbox.send(request.requester, { type: 'decided', entries });
      entries = [];
      bytes = 0;
    }
    entries.push(entry);
    bytes += size;
  }
  if (entries.length) outbox.send(request.requester, { type: 'decided', entries });
}
