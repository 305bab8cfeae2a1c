/**
 * Canonical text of role state, for the explorer's state hashing: two states that behave alike
 * have the same text, whatever order their Maps and Sets were filled in (unless that order
 * matters to behaviour), and fields that cannot change behaviour are left out. Packets get short
 * interned keys from it.
 */
import { createHash } from 'node:crypto';
import type { Message } from '../protocol/messages.js';

/** Properties that do not affect behaviour and are left out of the state hash. */
const SKIPPED_FIELDS = new Set(['metrics', 'options']);
/** Maps whose iteration order matters to behaviour: hashed in insertion order, not sorted. */
const ORDERED_MAPS = new Set(['pending@Client']);

const messageKeys = new WeakMap<object, string>();
const packetKeys = new Map<string, string>();

/** A short stable name for "this message to this receiver" (interned: the same text, the same key). */
export function packetKey(full: string): string {
  let k = packetKeys.get(full);
  if (k === undefined) {
    k = createHash('sha1').update(full).digest('base64').slice(0, 16);
    packetKeys.set(full, k);
  }
  return k;
}

/** Canonical text of a value: own enumerable fields, sorted Map/Set entries, no functions. */
export function serialize(v: unknown, out: string[], owner = ''): void {
  switch (typeof v) {
    case 'number': out.push(Object.is(v, -0) ? '0' : String(v)); return;
    case 'string': out.push(JSON.stringify(v)); return;
    case 'boolean': out.push(v ? 'T' : 'F'); return;
    case 'undefined': out.push('u'); return;
    case 'function': out.push('f'); return;
    case 'bigint': out.push(`${v}n`); return;
  }
  if (v === null) { out.push('n'); return; }
  const obj = v as object;
  if (ArrayBuffer.isView(obj)) { out.push(`b${Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('hex')}`); return; }
  if (Array.isArray(obj)) {
    out.push('[');
    for (const x of obj) { serialize(x, out); out.push(','); }
    out.push(']');
    return;
  }
  if (obj instanceof Map) {
    const entries = [...obj].map(([k, x]) => text(k) + '=>' + text(x));
    if (!ORDERED_MAPS.has(owner)) entries.sort();
    out.push('M{', entries.join(','), '}');
    return;
  }
  if (obj instanceof Set) {
    const items = [...obj].map((x) => text(x));
    items.sort();
    out.push('S{', items.join(','), '}');
    return;
  }
  const cls = (Object.getPrototypeOf(obj) as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
  out.push(cls === 'Object' ? '{' : `${cls}{`);
  for (const k of Object.keys(obj)) {
    if (SKIPPED_FIELDS.has(k)) continue;
    const x = (obj as Record<string, unknown>)[k];
    if (typeof x === 'function') continue;
    out.push(k, ':');
    serialize(x, out, `${k}@${cls}`);
    out.push(';');
  }
  out.push('}');
}

export function text(v: unknown): string {
  const out: string[] = [];
  serialize(v, out);
  return out.join('');
}

export function messageText(m: Message): string {
  let t = messageKeys.get(m);
  if (t === undefined) {
    t = text(m);
    messageKeys.set(m, t);
  }
  return t;
}
