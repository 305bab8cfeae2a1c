/**
 * Codecs turn application values into what the protocol orders (`string | Uint8Array`) and back.
 */
import type { Payload } from '../protocol/messages.js';
import { ValueEncodingError } from './errors.js';

/** Converts application values to payloads on `submit`, and back on `learned()`. */
export interface ValueCodec<T> {
  encode(value: T): Payload;
  decode(payload: Payload): T;
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
 * The default codec. Strings and `Uint8Array`s travel as they are (a string that starts with
 * U+0000 gets one more U+0000 in front, removed again on the way out); every other value is sent
 * as `"\u0000J" + JSON.stringify(value)` and parsed back, so `submit({ a: 1 })` comes out of
 * `learned()` as `{ a: 1 }`. Values JSON cannot represent (undefined, functions, bigint, cycles)
 * are refused with a `TypeError`.
 */
export const defaultCodec: ValueCodec<unknown> = {
  encode(value: unknown): Payload {
    if (typeof value === 'string') return value.startsWith(TAG) ? TAG + value : value;
    if (value instanceof Uint8Array) return value;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (e) {
      throw new ValueEncodingError(`value cannot be encoded as JSON: ${(e as Error).message}`);
    }
    if (json === undefined) throw new ValueEncodingError(`value of type ${typeof value} cannot be encoded as JSON`);
    return JSON_TAG + json;
  },
  decode(payload: Payload): unknown {
    if (typeof payload !== 'string' || !payload.startsWith(TAG)) return payload;
    if (payload.startsWith(JSON_TAG)) return JSON.parse(payload.slice(JSON_TAG.length));
    return payload.slice(TAG.length);
  },
};
