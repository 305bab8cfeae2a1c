/**
 * The simulator's wire mode: every message is encoded with the real binary codec, checked against
 * the datagram limit, decoded, and compared deeply with the original. What the receiver gets is
 * the decoded copy (split into parts when the codec splits it), as on a real network. Any
 * message that cannot travel, or arrives different, is an `InvariantViolation('wire', ...)`.
 *
 * Nothing here knows message types: a split message is rejoined generically (array fields of
 * the parts concatenated, every other field equal), so new message types need no change here.
 */
import type { Destination, Message } from '../protocol/messages.js';
import {
  type DecodeResult, type EncodedFrames, MAX_DATAGRAM_BYTES, decodeFrame, encodeFrames,
} from '../transport/codec.js';
import type { Endpoint } from '../transport/transport.js';
import { InvariantViolation } from './invariants.js';

export interface WireCodec {
  encode(to: Destination, from: Endpoint, messages: readonly Message[]): EncodedFrames;
  decode(datagram: Uint8Array): DecodeResult;
}

export const REAL_CODEC: WireCodec = {
  encode: (to, from, messages) => encodeFrames(to, from, messages),
  decode: (datagram) => decodeFrame(datagram),
};

/** Send `message` through `codec`; returns what the receiver decodes (usually one message). */
export function throughWire(to: Destination, from: Endpoint, message: Message, codec: WireCodec = REAL_CODEC): Message[] {
  let encoded: EncodedFrames;
  try {
    encoded = codec.encode(to, from, [message]);
  } catch (err) {
    throw new InvariantViolation('wire', `${message.type} from ${from.group}/${from.id} cannot be encoded: ${(err as Error).message}`);
  }
  if (encoded.oversize.length) {
    const m = encoded.oversize[0]!;
    throw new InvariantViolation('wire', `${m.type} from ${from.group}/${from.id} does not fit one datagram ` +
      `(~${approximateSize(m)} bytes, limit ${MAX_DATAGRAM_BYTES})`);
  }
  const decoded: Message[] = [];
  for (const frame of encoded.frames) {
    if (frame.byteLength > MAX_DATAGRAM_BYTES) {
      throw new InvariantViolation('wire', `${message.type} frame of ${frame.byteLength} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
    }
    const result = codec.decode(frame);
    if (!result.ok) {
      throw new InvariantViolation('wire', `${message.type} (${frame.byteLength} bytes) does not decode: ${result.reason} ${result.detail}`);
    }
    decoded.push(...result.frame.messages);
  }
  const rejoined = rejoin(decoded);
  const difference = rejoined === undefined ? 'decoded to nothing' : differs(message, rejoined, message.type);
  if (difference !== undefined) {
    const size = encoded.frames.reduce((n, f) => n + f.byteLength, 0);
    throw new InvariantViolation('wire', `${message.type} (${size} bytes) does not round-trip: ${difference}`);
  }
  return decoded;
}

/** Parts of one split message back into one: array fields concatenated, the rest taken from the first. */
function rejoin(parts: Message[]): Message | undefined {
  if (parts.length <= 1) return parts[0];
  const joined: Record<string, unknown> = { ...parts[0] };
  for (const [field, value] of Object.entries(joined)) {
    if (Array.isArray(value)) joined[field] = parts.flatMap((p) => (p as unknown as Record<string, unknown[]>)[field] ?? []);
  }
  for (const p of parts.slice(1)) {
    for (const [field, value] of Object.entries(p)) {
      if (!Array.isArray(value) && differs(joined[field], value, field) !== undefined) joined[field] = { inconsistentParts: true };
    }
  }
  return joined as unknown as Message;
}

/** A description of the first difference between two plain-data values, or undefined if equal. */
export function differs(a: unknown, b: unknown, path: string): string | undefined {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return `${path}: bytes vs ${typeof (a instanceof Uint8Array ? b : a)}`;
    if (a.byteLength !== b.byteLength) return `${path}: ${a.byteLength} bytes vs ${b.byteLength}`;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return `${path}[${i}]: ${a[i]} vs ${b[i]}`;
    return undefined;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: array vs ${typeof (Array.isArray(a) ? b : a)}`;
    if (a.length !== b.length) return `${path}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = differs(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      // An absent field and one set to undefined mean the same on the wire.
      const d = differs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

function approximateSize(m: Message): number {
  return JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? 'x'.repeat(v.byteLength) : v)).length;
}
