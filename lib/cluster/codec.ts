/**
 * Codecs turn application values into what the protocol orders (`string | Uint8Array`) and back.
 */
import { type Payload, SUBMISSION_OVERHEAD, payloadSize } from '../protocol/messages.js';
import { ValueTooLargeError } from '../protocol/client.js';
import { ValueEncodingError } from './errors.js';

/** Converts application values to payloads on `submit`, and back on `learned()`. */
export interface ValueCodec<T> {
  encode(value: T): Payload;
  decode(payload: Payload): T;
}

/** `value` as the payload `codec` makes of it, refused if it is no payload or too large for one instance. */
export function encodeValue<T>(codec: ValueCodec<T>, value: T, batchMaxBytes: number): Payload {
  const payload = codec.encode(value);
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) throw new ValueEncodingError('codec.encode must return a string or Uint8Array');
  const size = payloadSize(payload);
  const limit = batchMaxBytes - SUBMISSION_OVERHEAD;
  if (size > limit) throw new ValueTooLargeError(size, limit);
  return payload;
}

/** Passes strings and byte arrays through untouched; anything else is refused. */
export const rawCodec: ValueCodec<Payload> = {
  encode(value: Payload): Payload {
    if (typeof value === 'string' || value instanceof Uint8Array) return value;
    throw new ValueEncodingError(`rawCodec orders only strings and Uint8Arrays, got ${typeof value}`);
  },
  decode: (payload) => payload,
};

const TAG = '\u0000';
const JSON_TAG = '\u0000J';

/**
 * Where `value` would not come back from JSON equal to itself, in words (undefined: it would).
 * JSON keeps null, booleans, finite numbers, strings, arrays and plain objects; it changes
 * everything else silently (`NaN` → null, a `Date` → a string, a `Map` → `{}`, an `undefined`
 * property → gone, a class instance → a plain object), which an ordered log must not do.
 */
function jsonLoss(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string': case 'boolean': return undefined;
    case 'number': return Number.isFinite(value) ? undefined : `${path} is ${value}`;
    case 'object': break;
    case 'undefined': return `${path} is undefined`;
    default: return `${path} is a ${typeof value}`;
  }
  if (value === null) return undefined;
  if (seen.has(value)) return `${path} is a cycle`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) return `${path}[${i}] is a hole`;
        const loss = jsonLoss(value[i], `${path}[${i}]`, seen);
        if (loss) return loss;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}`;
    if (Object.getOwnPropertySymbols(value).length) return `${path} has symbol keys`;
    for (const [k, v] of Object.entries(value)) {
      const loss = v === undefined ? `${path}.${k} is undefined` : jsonLoss(v, `${path}.${k}`, seen);
      if (loss) return loss;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/**
 * The default codec. Strings and `Uint8Array`s travel as they are (a string that starts with
 * U+0000 gets one more U+0000 in front, removed again on the way out); every other value is sent
 * as `"\u0000J" + JSON.stringify(value)` and parsed back, so `submit({ a: 1 })` comes out of
 * `learned()` as `{ a: 1 }`. A value that would not come back equal (`undefined`, functions,
 * bigint, `NaN`, a `Date`, `Map` or `Set`, a class instance, an `undefined` property, a cycle) is
 * refused with `ValueEncodingError` rather than changed silently.
 */
export const defaultCodec: ValueCodec<unknown> = {
  encode(value: unknown): Payload {
    if (typeof value === 'string') return value.startsWith(TAG) ? TAG + value : value;
    if (value instanceof Uint8Array) return value;
    const loss = jsonLoss(value, 'the value', new Set());
    if (loss) throw new ValueEncodingError(`${loss}: JSON would not give it back unchanged (send a string, bytes or plain JSON data)`);
    return JSON_TAG + JSON.stringify(value);
  },
  decode(payload: Payload): unknown {
    if (typeof payload !== 'string' || !payload.startsWith(TAG)) return payload;
    if (payload.startsWith(JSON_TAG)) return JSON.parse(payload.slice(JSON_TAG.length));
    return payload.slice(TAG.length);
  },
};
