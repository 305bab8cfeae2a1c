/**
 * Byte primitives of the datagram codec (see codec.ts for the format): a growable `Writer` and
 * a bounds-checked `Reader` of u8, u16 big-endian, unsigned LEB128 varints and length-prefixed
 * UTF-8 strings. Nothing here knows protocol messages.
 *
 * The reader signals bad input by throwing the one preallocated `MALFORMED` (no stack captured
 * per bad datagram); `decodeFrame` turns it into a `DecodeFailure`. The writer throws
 * `EncodeError`, which reaches the caller of `encodeFrames`.
 */

/** Thrown by the encoder when a message cannot be encoded (never by the decoder). */
export class EncodeError extends Error {
  readonly code = 'ERR_PAXOS_ENCODE';
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** Raised inside the decoder only; never escapes `decodeFrame`. */
export class Malformed extends Error {}
export const MALFORMED = new Malformed('malformed');

export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Room for `n` more bytes; growing keeps every byte written so far (a frame header included). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new EncodeError(`cannot encode ${v}: not a non-negative safe integer`);
    this.ensure(8);
    const buf = this.buf;
    // Below 2^31 the bit operators are exact and much faster than division.
    if (v < 0x80000000) {
      while (v >= 0x80) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[this.pos++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
    }
    buf[this.pos++] = v;
  }

  /** `len:varint` then the UTF-8 bytes. */
  string(v: string): void {
    const len = Buffer.byteLength(v, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
  }

  /** `len:varint` then the bytes. */
  bytes(v: Uint8Array): void {
    this.varint(v.byteLength);
    this.ensure(v.byteLength);
    this.buf.set(v, this.pos);
    this.pos += v.byteLength;
  }
}

export class Reader {
  pos: number;

  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw MALFORMED;
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) throw MALFORMED;
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  /** At most 8 bytes (56 bits), and the value must be a safe integer. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw MALFORMED;
        return result;
      }
      scale *= 128;
    }
    throw MALFORMED;
  }

  /** A count of items each at least `minBytes` long: more than the bytes left is malformed. */
  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.left) throw MALFORMED;
    return n;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw MALFORMED;
    return b === 1;
  }

  /** The counterpart of `Writer.string`. */
  string(): string {
    const len = this.varint();
    if (len > this.left) throw MALFORMED;
    const v = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** The counterpart of `Writer.bytes`: a copy, since it outlives the datagram's buffer. */
  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.left) throw MALFORMED;
    const v = new Uint8Array(this.buf.buffer.slice(this.buf.byteOffset + this.pos, this.buf.byteOffset + this.pos + len));
    this.pos += len;
    return v;
  }
}
