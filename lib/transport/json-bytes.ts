/**
 * JSON that carries `Uint8Array` values exactly: each travels as `{"$bytes": base64}`. The one
 * encoding for messages that go as text (the bus's JSON mode, the codec's generic fallback).
 */
const BYTES = '$bytes';

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { [BYTES]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[BYTES] === 'string' && Object.keys(value).length === 1) {
    const b = Buffer.from((value as Record<string, string>)[BYTES]!, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return value;
}

export function stringifyWithBytes(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** Parses what `stringifyWithBytes` wrote (text without byte values skips the reviver). */
export function parseWithBytes(text: string): unknown {
  return JSON.parse(text, text.includes(BYTES) ? reviver : undefined);
}
