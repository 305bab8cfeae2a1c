/**
 * Binary encoding of acceptor log files.
 *
 * ```text
 *  file   := fileHeader frame*
 *  fileHeader (16 bytes) := magic "PXAL" | version u16 | reserved u16 | generation u32 | crc32(previous 12 bytes) u32
 *  frame  := bodyLength u32 | crc32(bodyLength bytes) u32 | crc32(body) u32 | body
 *  body   := 1 promise  round u64 node u64
 *          | 2 accept   instance u64 round u64 node u64 count u32 submission*count
 *          | 4 trim     instance u64 position u64 count u32 clientMark*count [epoch acceptors q1 q2: u64 each]
 *  submission := client u64 | seq u64 | kind u8 (0 UTF-8, 1 bytes, 2 UTF-16LE) | length u32 | bytes
 *  clientMark := client u64 | low u64 | count u32 | above u64*count
 * ```
 * A trim record carries the whole `DeliverySnapshot` the acceptor trimmed at (the next position
 * and the exactly-once filter), so a restarted acceptor can hand it to a new leader. Format
 * version 1 had `3 trim below u64` instead; it is not read (no snapshot to recover from it).
 * All integers little-endian; u64 fields hold safe integers (< 2^53). The frame header carries
 * its own checksum so a damaged length is caught before it is trusted, and a zero-filled tail
 * (a file extended but never written) fails it too. Strings that are not well-formed UTF-16
 * (lone surrogates) are stored as UTF-16LE so they round-trip exactly.
 */
import { crc32 } from 'node:zlib';
import type { Ballot } from '../protocol/ballot.js';
import type { AcceptorRecord } from '../protocol/acceptor.js';
import type { ClientMark, Submission } from '../protocol/messages.js';

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, as zlib and gzip): node:zlib's, present on every Node this package supports
// (>= 20.15; engines asks for 20.19). The test suite checks it against a table implementation.
export { crc32 } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// File header.

export const MAGIC = 0x4c415850; // "PXAL" read as u32 little-endian
/**
 * 2: trim records carry a full `DeliverySnapshot` (1 had only the trim instance).
 * 3: snapshots carry client sessions (the next session key, each session's last active instance).
 */
export const FORMAT_VERSION = 3;
export const FILE_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 12;
/** Largest record body accepted when reading; anything bigger is damage. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

export function encodeFileHeader(generation: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(FORMAT_VERSION, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt32LE(generation >>> 0, 8);
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12);
  return b;
}

/** Checks a file header; returns its generation or a reason it is bad. */
export function decodeFileHeader(b: Buffer): { generation: number } | { error: string } {
  if (b.length < FILE_HEADER_BYTES) return { error: `file shorter than its ${FILE_HEADER_BYTES}-byte header` };
  const magic = b.readUInt32LE(0);
  if (magic !== MAGIC) return { error: `bad magic 0x${magic.toString(16).padStart(8, '0')} (not an acceptor log)` };
  const version = b.readUInt16LE(4);
  if (version !== FORMAT_VERSION) return { error: `unsupported format version ${version} (this build reads ${FORMAT_VERSION})` };
  if (b.readUInt32LE(12) !== crc32(b.subarray(0, 12))) return { error: 'file header checksum mismatch' };
  return { generation: b.readUInt32LE(8) };
}

// ---------------------------------------------------------------------------------------------
// Records.

const PROMISE = 1;
const ACCEPT = 2;
/** 3 was version 1's trim (`below` only); never reused. */
const TRIM = 4;
const UTF8 = 0;
const BYTES = 1;
const UTF16 = 2;
const TWO_32 = 0x1_0000_0000;

function writeU64(b: Buffer, n: number, at: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a safe non-negative integer: ${n}`);
  const lo = n % TWO_32;
  b.writeUInt32LE(lo, at);
  b.writeUInt32LE((n - lo) / TWO_32, at + 4);
  return at + 8;
}

function readU64(b: Buffer, at: number): number {
  const hi = b.readUInt32LE(at + 4);
  if (hi > 0x1f_ffff) throw new RangeError(`u64 at ${at} exceeds 2^53`);
  return hi * TWO_32 + b.readUInt32LE(at);
}

const isWellFormed = (s: string): boolean =>
  (s as string & { isWellFormed?: () => boolean }).isWellFormed?.() ?? !/[\uD800-\uDFFF]/.test(s);

/** Encodes one record as a complete frame (header and body). */
export function encodeRecord(r: AcceptorRecord): Buffer {
  switch (r.kind) {
    case 'promise': return encodePromise(r);
    case 'trim': return encodeTrim(r);
    case 'accept': return encodeAccept(r);
    default: throw new TypeError(`unknown record kind ${(r as { kind: unknown }).kind}`);
  }
}

/** A frame with room for `bodyBytes`, and the offset where the body starts. */
function newFrame(bodyBytes: number): [Buffer, number] {
  return [Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes), FRAME_HEADER_BYTES];
}

function encodePromise(r: Extract<AcceptorRecord, { kind: 'promise' }>): Buffer {
  const bodyBytes = 1 + 16;
  let [frame, at] = newFrame(bodyBytes);
  frame[at++] = PROMISE;
  at = writeU64(frame, r.ballot.round, at);
  writeU64(frame, r.ballot.node, at);
  writeFrameHeader(frame, bodyBytes);
  return frame;
}

function encodeTrim(r: Extract<AcceptorRecord, { kind: 'trim' }>): Buffer {
  const { instance, position, nextClient, clients } = r.snapshot;
  const membership = r.snapshot.membership;
  let bodyBytes = 1 + 24 + 4 + (membership ? 32 : 0);
  for (const c of clients) bodyBytes += 28 + 8 * c.above.length;
  let [frame, at] = newFrame(bodyBytes);
  frame[at++] = TRIM;
  at = writeU64(frame, instance, at);
  at = writeU64(frame, position, at);
  at = writeU64(frame, nextClient, at);
  frame.writeUInt32LE(clients.length, at); at += 4;
  for (const c of clients) {
    at = writeU64(frame, c.client, at);
    at = writeU64(frame, c.low, at);
    at = writeU64(frame, c.active, at);
    frame.writeUInt32LE(c.above.length, at); at += 4;
    for (const seq of c.above) at = writeU64(frame, seq, at);
  }
  if (membership) for (const v of [membership.epoch, membership.acceptors, membership.phase1Quorum, membership.phase2Quorum]) at = writeU64(frame, v, at);
  writeFrameHeader(frame, bodyBytes);
  return frame;
}

/** How each value of a batch is stored, and its length in bytes; strings are measured once. */
function measureValues(r: Extract<AcceptorRecord, { kind: 'accept' }>): { kinds: number[]; lengths: number[]; bytes: number } {
  const kinds = new Array<number>(r.batch.length);
  const lengths = new Array<number>(r.batch.length);
  let bytes = 0;
  for (let i = 0; i < r.batch.length; i++) {
    const v = r.batch[i]!.value;
    if (typeof v === 'string') {
      if (isWellFormed(v)) { kinds[i] = UTF8; lengths[i] = Buffer.byteLength(v, 'utf8'); } else { kinds[i] = UTF16; lengths[i] = v.length * 2; }
    } else if (v instanceof Uint8Array) {
      kinds[i] = BYTES; lengths[i] = v.byteLength;
    } else {
      throw new TypeError(`submission ${i} of instance ${r.instance}: value must be a string or Uint8Array`);
    }
    bytes += 21 + lengths[i]!;
  }
  return { kinds, lengths, bytes };
}

function encodeAccept(r: Extract<AcceptorRecord, { kind: 'accept' }>): Buffer {
  const { kinds, lengths, bytes } = measureValues(r);
  const bodyBytes = 1 + 24 + 4 + bytes;
  let [frame, at] = newFrame(bodyBytes);
  frame[at++] = ACCEPT;
  at = writeU64(frame, r.instance, at);
  at = writeU64(frame, r.ballot.round, at);
  at = writeU64(frame, r.ballot.node, at);
  frame.writeUInt32LE(r.batch.length, at); at += 4;
  for (let i = 0; i < r.batch.length; i++) {
    const s = r.batch[i]!;
    at = writeU64(frame, s.client, at);
    at = writeU64(frame, s.seq, at);
    const kind = kinds[i]!;
    const len = lengths[i]!;
    frame[at++] = kind;
    frame.writeUInt32LE(len, at); at += 4;
    const v = s.value;
    if (kind === UTF8) frame.write(v as string, at, len, 'utf8');
    else if (kind === UTF16) frame.write(v as string, at, len, 'utf16le');
    else frame.set(v as Uint8Array, at);
    at += len;
  }
  writeFrameHeader(frame, bodyBytes);
  return frame;
}

function writeFrameHeader(frame: Buffer, bodyBytes: number): void {
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(crc32(frame.subarray(0, 4)), 4);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + bodyBytes)), 8);
}

/** What is found at one offset of a log. */
export type FrameRead =
  | { readonly ok: true; readonly body: Buffer; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/** Reads and checks the frame starting at `at`; the body is a view into `b`. */
export function readFrame(b: Buffer, at: number): FrameRead {
  if (b.length - at < FRAME_HEADER_BYTES) return { ok: false, reason: `incomplete frame header (${b.length - at} of ${FRAME_HEADER_BYTES} bytes)` };
  if (b.readUInt32LE(at + 4) !== crc32(b.subarray(at, at + 4))) return { ok: false, reason: 'frame header checksum mismatch' };
  const len = b.readUInt32LE(at);
  if (len === 0 || len > MAX_BODY_BYTES) return { ok: false, reason: `implausible record length ${len}` };
  const start = at + FRAME_HEADER_BYTES;
  if (b.length - start < len) return { ok: false, reason: `incomplete record (${b.length - start} of ${len} body bytes)` };
  const body = b.subarray(start, start + len);
  if (b.readUInt32LE(at + 8) !== crc32(body)) return { ok: false, reason: 'record checksum mismatch' };
  return { ok: true, body, end: start + len };
}

/** Where decoding a record body stands. */
interface Cursor {
  readonly body: Buffer;
  at: number;
}

function u64(c: Cursor): number {
  const n = readU64(c.body, c.at);
  c.at += 8;
  return n;
}

function u32(c: Cursor): number {
  const n = c.body.readUInt32LE(c.at);
  c.at += 4;
  return n;
}

function ballotOf(c: Cursor): Ballot {
  const round = u64(c);
  return { round, node: u64(c) };
}

/** Decodes a checked record body. Throws RangeError on a malformed body. */
export function decodeRecord(body: Buffer): AcceptorRecord {
  const c: Cursor = { body, at: 1 };
  let record: AcceptorRecord;
  switch (body[0]) {
    case PROMISE: record = { kind: 'promise', ballot: ballotOf(c) }; break;
    case TRIM: record = decodeTrim(c); break;
    case ACCEPT: record = decodeAccept(c); break;
    default: throw new RangeError(`unknown record type ${body[0]}`);
  }
  if (c.at !== body.length) throw new RangeError(`${body.length - c.at} trailing bytes in record`);
  return record;
}

function decodeTrim(c: Cursor): AcceptorRecord {
  const instance = u64(c);
  const position = u64(c);
  const nextClient = u64(c);
  const count = u32(c);
  if (count > (c.body.length - c.at) / 28) throw new RangeError(`client count ${count} exceeds record size`);
  const clients = new Array<ClientMark>(count);
  for (let i = 0; i < count; i++) {
    const client = u64(c);
    const low = u64(c);
    const active = u64(c);
    const n = u32(c);
    if (n > (c.body.length - c.at) / 8) throw new RangeError(`above count ${n} exceeds record size`);
    const above = new Array<number>(n);
    for (let k = 0; k < n; k++) above[k] = u64(c);
    clients[i] = { client, low, above, active };
  }
  // A snapshot of a later epoch ends with its membership (epoch 0's is left out).
  if (c.at === c.body.length) return { kind: 'trim', snapshot: { instance, position, nextClient, clients } };
  const membership = { epoch: u64(c), acceptors: u64(c), phase1Quorum: u64(c), phase2Quorum: u64(c) };
  return { kind: 'trim', snapshot: { instance, position, nextClient, clients, membership } };
}

function decodeAccept(c: Cursor): AcceptorRecord {
  const instance = u64(c);
  const ballot = ballotOf(c);
  const count = u32(c);
  const body = c.body;
  if (count > (body.length - c.at) / 21) throw new RangeError(`batch count ${count} exceeds record size`);
  const batch = new Array<Submission>(count);
  for (let i = 0; i < count; i++) {
    const client = u64(c);
    const seq = u64(c);
    const kind = body[c.at++];
    const len = u32(c);
    const at = c.at;
    if (len > body.length - at) throw new RangeError(`value length ${len} exceeds record size`);
    let value: string | Uint8Array;
    if (kind === UTF8) value = body.toString('utf8', at, at + len);
    else if (kind === UTF16) value = body.toString('utf16le', at, at + len);
    else if (kind === BYTES) value = new Uint8Array(body.subarray(at, at + len)); // a copy: owns its memory
    else throw new RangeError(`unknown value kind ${kind}`);
    c.at = at + len;
    batch[i] = { client, seq, value };
  }
  return { kind: 'accept', instance, ballot, batch };
}
