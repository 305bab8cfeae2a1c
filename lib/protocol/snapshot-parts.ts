/**
 * Delivery snapshots grow with the number of client sessions, so they travel in parts that
 * each fit a message (`splitSnapshot`), and receivers act only on a whole one
 * (`SnapshotAssembler`). Parts of one snapshot share its `instance`; a newer snapshot
 * supersedes an older one half assembled.
 */
import type { ClientMark, DeliverySnapshot, SnapshotPart } from './messages.js';
import { markSize } from './messages.js';

/** Bytes of a part besides its marks (header fields). */
const PART_HEADER_BYTES = 48;
/** Seqs of one mark's `above` per piece when a single mark is larger than a part. */
const SEQS_PER_PIECE = 1024;

/** Parts already cut, per snapshot (snapshots are immutable data: trim points get resent often). */
const cut = new WeakMap<DeliverySnapshot, { maxBytes: number; parts: readonly SnapshotPart[] }>();

/** Cut `snapshot` into parts whose estimated size stays within `maxBytes` (at least one part). */
export function splitSnapshot(snapshot: DeliverySnapshot, maxBytes: number): readonly SnapshotPart[] {
  const known = cut.get(snapshot);
  if (known?.maxBytes === maxBytes) return known.parts;
  const parts = cutParts(snapshot, maxBytes);
  cut.set(snapshot, { maxBytes, parts });
  return parts;
}

function cutParts(snapshot: DeliverySnapshot, maxBytes: number): SnapshotPart[] {
  const { instance, position, nextClient } = snapshot;
  const slices: ClientMark[][] = [[]];
  let bytes = PART_HEADER_BYTES;
  for (const mark of pieces(snapshot.clients)) {
    const size = markSize(mark);
    if (bytes + size > maxBytes && slices[slices.length - 1]!.length > 0) {
      slices.push([]);
      bytes = PART_HEADER_BYTES;
    }
    slices[slices.length - 1]!.push(mark);
    bytes += size;
  }
  const membership = snapshot.membership ? { membership: snapshot.membership } : {};
  return slices.map((clients, part) => ({ instance, position, nextClient, clients, part, parts: slices.length, ...membership }));
}

/** Marks with long `above` lists cut into several marks of the same client. */
function* pieces(marks: readonly ClientMark[]): Iterable<ClientMark> {
  for (const m of marks) {
    if (m.above.length <= SEQS_PER_PIECE) {
      yield m;
      continue;
    }
    for (let i = 0; i < m.above.length; i += SEQS_PER_PIECE) yield { ...m, above: m.above.slice(i, i + SEQS_PER_PIECE) };
  }
}

/** Join the parts of one snapshot (all of them, any order) into the whole. */
export function joinSnapshot(parts: readonly SnapshotPart[]): DeliverySnapshot {
  const ordered = [...parts].sort((a, b) => a.part - b.part);
  const { instance, position, nextClient, membership } = ordered[0]!;
  const byClient = new Map<number, { low: number; above: number[]; active: number }>();
  for (const p of ordered) {
    for (const m of p.clients) {
      const known = byClient.get(m.client);
      if (known) known.above.push(...m.above);
      else byClient.set(m.client, { low: m.low, above: [...m.above], active: m.active });
    }
  }
  const clients = [...byClient].map(([client, m]) => ({ client, ...m }));
  return membership ? { instance, position, nextClient, clients, membership } : { instance, position, nextClient, clients };
}

/** The whole snapshot as one part (a snapshot that never travelled). */
export function wholePart(snapshot: DeliverySnapshot): SnapshotPart {
  return { ...snapshot, part: 0, parts: 1 };
}

/** Incomplete snapshots an assembler keeps collecting at once (the one heard of longest ago goes first). */
const MAX_INCOMPLETE = 4;

/**
 * Collects parts; yields a snapshot once every part of it has arrived. Several snapshots may be
 * incomplete at once: a part of a newer snapshot whose other parts were lost must not shut out an
 * older one that still arrives whole (a new leader may trim less far than the one before it, and
 * the newer snapshot may never be sent again). Snapshots at one instance are one snapshot: the
 * delivery state after a given log prefix, cut by the same limit.
 */
export class SnapshotAssembler {
  /** The snapshots still incomplete, by `instance/parts`: their instance, and the parts so far. */
  private incomplete = new Map<string, { instance: number; parts: Map<number, SnapshotPart> }>();

  /** Add a part; the whole snapshot when this part completed it, else undefined. */
  add(part: SnapshotPart): DeliverySnapshot | undefined {
    if (part.parts === 1) return joinSnapshot([part]);
    const key = `${part.instance}/${part.parts}`;
    let entry = this.incomplete.get(key);
    if (!entry) {
      entry = { instance: part.instance, parts: new Map() };
      this.incomplete.set(key, entry);
      // The one heard of longest ago goes: what is being resent now is what can still complete.
      if (this.incomplete.size > MAX_INCOMPLETE) this.incomplete.delete(this.incomplete.keys().next().value!);
    }
    entry.parts.set(part.part, part);
    if (entry.parts.size < part.parts) return undefined;
    // Complete: it and every incomplete snapshot at or below it are done with.
    for (const [k, e] of this.incomplete) if (e.instance <= part.instance) this.incomplete.delete(k);
    return joinSnapshot([...entry.parts.values()]);
  }
}
