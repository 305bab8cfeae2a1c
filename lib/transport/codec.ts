/**
 * Compact, versioned binary framing of protocol messages for datagram transports.
 *
 * ```text
 *  frame   = 'P' 'X' version:u8 flags:u8 toGroup:u8 fromGroup:u8 toMember:varint fromId:varint
 *            count:u16be message{count} [hmac:32]
 *  flags   = bit 0: an HMAC-SHA256 of every byte before it ends the frame
 *  toMember = 0 for the whole group, else member + 1
 *  message = type:u8 fields (see `encodeMessage`); integers are unsigned LEB128 varints
 *  batch   = count:varint submission{count}
 *  submission = head:varint [client:varint] [seq:varint] payload
 *            head = len * 8 + isBytes * 4 + sameClient * 2 + nextSeq
 *            (sameClient: client as the previous one; nextSeq: seq = previous seq + 1)
 *  committed entries travel as runs (client, seq, position + 1, length) of consecutive seqs/positions
 *  (position -1, "unknown", travels as 1; -2, "session expired", as 0)
 * ```
 *
 * Decoding never throws: random bytes, truncations, unknown versions, absurd lengths or counts
 * give a `DecodeFailure` with a reason, so a transport can count and drop the datagram. Every
 * count is checked against the bytes left before anything is allocated.
 */
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type {
  AcceptedEntry, Batch, ClientMark, CommitNotice, DecidedEntry, Destination, Group, Message, PromiseMessage, SnapshotPart,
  Submission,
} from '../protocol/messages.js';
import { GROUPS, isMessage } from '../protocol/messages.js';
import type { Ballot } from '../protocol/ballot.js';
import type { Endpoint } from './transport.js';

/** 2: client sessions (registered, session-expired notices), alive, promise answer ids, snapshot parts. */
export const FRAME_VERSION = 2;
const MAGIC_0 = 0x50; // 'P'
const MAGIC_1 = 0x58; // 'X'
const FLAG_HMAC = 1;
export const HMAC_BYTES = 32;
/** Largest UDP payload over IPv4. */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Bytes of frame header before the first message, at most (2 varints of up to 8 bytes). */
export const MAX_FRAME_HEADER_BYTES = 6 + 8 + 8 + 2;
/** Most commit notices one committed message may expand to when decoded. */
export const MAX_COMMIT_ENTRIES = 1 << 16;
/** Most messages in one frame (the count is a u16). */
export const MAX_FRAME_MESSAGES = 0xffff;

/**
 * Worst-case bytes an `accept` adds on top of its batch's `batchSize` (type, ballot, instance,
 * count). The per-value framing here (at most 19 bytes) is below the protocol's assumed
 * `SUBMISSION_OVERHEAD` (24), so a batch within `batchMaxBytes` encodes within
 * `batchMaxBytes + ACCEPT_OVERHEAD_BYTES`.
 */
export const ACCEPT_OVERHEAD_BYTES = 1 + 16 + 8 + 3;

/**
 * The largest `batchMaxBytes` with which every batch, promise chunk, decided chunk and submit
 * message still fits one datagram (with or without an HMAC).
 */
export const MAX_BATCH_BYTES_FOR_DATAGRAM = MAX_DATAGRAM_BYTES - HMAC_BYTES - MAX_FRAME_HEADER_BYTES - 64;

export type DecodeFailureReason = 'short' | 'magic' | 'version' | 'flags' | 'malformed' | 'unauthenticated' | 'invalid';

export interface Frame {
  readonly to: Destination;
  readonly from: Endpoint;
  readonly messages: Message[];
}

export type DecodeResult =
  | { readonly ok: true; readonly frame: Frame }
  | { readonly ok: false; readonly reason: DecodeFailureReason; readonly detail: string };

/** Raised inside the decoder only; never escapes `decodeFrame`. */
class Malformed extends Error {}
const MALFORMED = new Malformed('malformed');

/** Thrown by the encoder when a message cannot be encoded (never by the decoder). */
export class EncodeError extends Error {
  readonly code = 'ERR_PAXOS_ENCODE';
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

// ------------------------------------------------------------------------------------ writer

class Writer {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

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

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }
}

// ------------------------------------------------------------------------------------ reader

class Reader {
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
}

// ---------------------------------------------------------------------------------- messages

/**
 * Wire codes of the message types with a compact encoding. A type missing here (added to the
 * protocol later) still travels, as JSON under `GENERIC_CODE`, until it gets its own encoding.
 */
const TYPE_CODES: Partial<Record<Message['type'], number>> = {
  submit: 1, heartbeat: 2, prepare: 3, promise: 4, nack: 5, accept: 6, accepted: 7, catchup: 8, decided: 9, committed: 10,
  progress: 11, trim: 12, trimmed: 13, registered: 14, alive: 15,
};
const GENERIC_CODE = 0x7f;

function writeString(w: Writer, v: string): void {
  const len = Buffer.byteLength(v, 'utf8');
  w.varint(len);
  w.ensure(len);
  w.buf.write(v, w.pos, len, 'utf8');
  w.pos += len;
}

function readString(r: Reader): string {
  const len = r.varint();
  if (len > r.left) throw MALFORMED;
  const v = r.buf.toString('utf8', r.pos, r.pos + len);
  r.pos += len;
  return v;
}

function writeBallot(w: Writer, b: Ballot): void {
  w.varint(b.round);
  w.varint(b.node);
}

function readBallot(r: Reader): Ballot {
  return { round: r.varint(), node: r.varint() };
}

function groupCode(g: Group): number {
  const code = GROUPS.indexOf(g);
  if (code < 0) throw new EncodeError(`unknown group ${String(g)}`);
  return code;
}

function readGroup(r: Reader): Group {
  const g = GROUPS[r.u8()];
  if (g === undefined) throw MALFORMED;
  return g;
}

function writeBatch(w: Writer, batch: Batch, initialClient: number): void {
  w.varint(batch.length);
  let prevClient = initialClient;
  let prevSeq = -2;
  for (const s of batch) {
    const same = s.client === prevClient;
    const next = same && s.seq === prevSeq + 1;
    const value = s.value;
    let len: number;
    let isBytes: number;
    if (typeof value === 'string') {
      if (value.length <= 32) {
        // Short strings (the common case): ASCII written by hand, much faster than Buffer.write.
        w.ensure(24 + 32);
        const start = w.pos + 24; // staged past the worst-case head + client + seq (18 bytes)
        let ascii = true;
        for (let i = 0; i < value.length; i++) {
          const c = value.charCodeAt(i);
          if (c >= 0x80) {
            ascii = false;
            break;
          }
          w.buf[start + i] = c; // staged; moved in place after the varints
        }
        if (ascii) {
          len = value.length;
          w.varint(len * 8 + (same ? 2 : 0) + (next ? 1 : 0));
          if (!same) w.varint(s.client);
          if (!next) w.varint(s.seq);
          w.buf.copyWithin(w.pos, start, start + len);
          w.pos += len;
          prevClient = s.client;
          prevSeq = s.seq;
          continue;
        }
      }
      len = Buffer.byteLength(value, 'utf8');
      isBytes = 0;
    } else if (value instanceof Uint8Array) {
      len = value.byteLength;
      isBytes = 4;
    } else {
      throw new EncodeError('a value must be a string or a Uint8Array');
    }
    w.varint(len * 8 + isBytes + (same ? 2 : 0) + (next ? 1 : 0));
    if (!same) w.varint(s.client);
    if (!next) w.varint(s.seq);
    w.ensure(len);
    if (isBytes) w.buf.set(value as Uint8Array, w.pos);
    else if (len) w.buf.write(value as string, w.pos, len, 'utf8');
    w.pos += len;
    prevClient = s.client;
    prevSeq = s.seq;
  }
}

function readBatch(r: Reader, initialClient: number): Submission[] {
  const n = r.count(1);
  const batch: Submission[] = new Array(n);
  let prevClient = initialClient;
  let prevSeq = -2;
  for (let i = 0; i < n; i++) {
    const head = r.varint();
    const len = Math.floor(head / 8);
    const same = (head & 2) !== 0;
    const next = (head & 1) !== 0;
    if (next && !same) throw MALFORMED;
    if (same && prevClient < 0) throw MALFORMED;
    const client = same ? prevClient : r.varint();
    const seq = next ? prevSeq + 1 : r.varint();
    if (len > r.left) throw MALFORMED;
    const start = r.pos;
    r.pos += len;
    const value = (head & 4) !== 0
      ? new Uint8Array(r.buf.buffer.slice(r.buf.byteOffset + start, r.buf.byteOffset + start + len))
      : len <= 16 ? shortString(r.buf, start, len) : r.buf.toString('utf8', start, start + len);
    batch[i] = { client, seq, value };
    prevClient = client;
    prevSeq = seq;
  }
  return batch;
}

/** Decode a short UTF-8 string: ASCII by hand (much faster than toString), anything else by Buffer. */
function shortString(buf: Buffer, start: number, len: number): string {
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return buf.toString('utf8', start, start + len);
    out += String.fromCharCode(c);
  }
  return out;
}

function writeCommitted(w: Writer, entries: readonly CommitNotice[]): void {
  if (entries.length > MAX_COMMIT_ENTRIES) throw new EncodeError(`more than ${MAX_COMMIT_ENTRIES} commit notices in one message`);
  // Runs of consecutive seqs at consecutive positions of one client.
  const runs: number[] = [];
  for (let i = 0; i < entries.length;) {
    const e = entries[i]!;
    let j = i + 1;
    while (j < entries.length) {
      const f = entries[j]!;
      if (f.client !== e.client || f.seq !== e.seq + (j - i) || f.position !== e.position + (j - i)) break;
      j++;
    }
    runs.push(e.client, e.seq, e.position + 2, j - i); // +2: UNKNOWN_POSITION (-1) and SESSION_EXPIRED (-2) stay unsigned
    i = j;
  }
  w.varint(runs.length / 4);
  for (const v of runs) w.varint(v);
}

function readCommitted(r: Reader): CommitNotice[] {
  const runs = r.count(4);
  const entries: CommitNotice[] = [];
  for (let i = 0; i < runs; i++) {
    const client = r.varint();
    const seq = r.varint();
    const position = r.varint() - 2;
    const length = r.varint();
    if (length < 1 || entries.length + length > MAX_COMMIT_ENTRIES) throw MALFORMED;
    if (seq + length > Number.MAX_SAFE_INTEGER || position + length > Number.MAX_SAFE_INTEGER) throw MALFORMED;
    for (let k = 0; k < length; k++) entries.push({ client, seq: seq + k, position: position + k });
  }
  return entries;
}

function writeAcceptedEntries(w: Writer, entries: readonly AcceptedEntry[]): void {
  w.varint(entries.length);
  for (const e of entries) {
    w.varint(e.instance);
    writeBallot(w, e.ballot);
    writeBatch(w, e.batch, -1);
  }
}

function readAcceptedEntries(r: Reader): AcceptedEntry[] {
  const n = r.count(4);
  const entries: AcceptedEntry[] = new Array(n);
  for (let i = 0; i < n; i++) entries[i] = { instance: r.varint(), ballot: readBallot(r), batch: readBatch(r, -1) };
  return entries;
}

function writeDecidedEntries(w: Writer, entries: readonly DecidedEntry[]): void {
  w.varint(entries.length);
  for (const e of entries) {
    w.varint(e.instance);
    writeBatch(w, e.batch, -1);
  }
}

function readDecidedEntries(r: Reader): DecidedEntry[] {
  const n = r.count(2);
  const entries: DecidedEntry[] = new Array(n);
  for (let i = 0; i < n; i++) entries[i] = { instance: r.varint(), batch: readBatch(r, -1) };
  return entries;
}

function writeSnapshotPart(w: Writer, s: SnapshotPart): void {
  w.varint(s.instance);
  w.varint(s.position);
  w.varint(s.nextClient);
  w.varint(s.part);
  w.varint(s.parts);
  w.varint(s.clients.length);
  for (const c of s.clients) {
    w.varint(c.client);
    w.varint(c.low);
    w.varint(c.active);
    w.varint(c.above.length);
    for (const seq of c.above) w.varint(seq);
  }
}

function readSnapshotPart(r: Reader): SnapshotPart {
  const instance = r.varint();
  const position = r.varint();
  const nextClient = r.varint();
  const part = r.varint();
  const parts = r.varint();
  const n = r.count(4);
  const clients: ClientMark[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const client = r.varint();
    const low = r.varint();
    const active = r.varint();
    const k = r.count(1);
    const above: number[] = new Array(k);
    for (let j = 0; j < k; j++) above[j] = r.varint();
    clients[i] = { client, low, above, active };
  }
  return { instance, position, nextClient, clients, part, parts };
}

/** Message types without a compact encoding travel as JSON with bytes (see json-bytes.ts). */
function writeGeneric(w: Writer, m: Message): void {
  const bytes = Buffer.from(stringifyWithBytes(m), 'utf8');
  w.varint(bytes.length);
  w.raw(bytes);
}

function readGeneric(r: Reader): Message {
  const len = r.varint();
  if (len > r.left) throw MALFORMED;
  const text = r.buf.toString('utf8', r.pos, r.pos + len);
  r.pos += len;
  const parsed = parseWithBytes(text);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') throw MALFORMED;
  return parsed as Message;
}

function encodeMessage(w: Writer, m: Message): void {
  const code = TYPE_CODES[m.type];
  if (code === undefined) {
    if (typeof (m as { type: unknown }).type !== 'string') throw new EncodeError('a message needs a string type');
    w.u8(GENERIC_CODE);
    writeGeneric(w, m);
    return;
  }
  w.u8(code);
  switch (m.type) {
    case 'submit':
      w.varint(m.client);
      w.varint(m.completedBelow);
      writeBatch(w, m.values, m.client);
      return;
    case 'heartbeat':
      w.varint(m.from);
      writeBallot(w, m.ballot);
      w.u8((m.leading ? 1 : 0) | (m.quorum ? 2 : 0));
      w.varint(m.decided);
      return;
    case 'prepare':
      writeBallot(w, m.ballot);
      w.varint(m.from);
      return;
    case 'promise':
      writeBallot(w, m.ballot);
      w.varint(m.acceptor);
      w.varint(m.from);
      w.varint(m.cutAt);
      w.varint(m.chunk);
      w.varint(m.chunks);
      writeAcceptedEntries(w, m.accepted);
      w.u8(m.trimmed ? 1 : 0);
      if (m.trimmed) writeSnapshotPart(w, m.trimmed);
      return;
    case 'nack':
      writeBallot(w, m.ballot);
      writeBallot(w, m.promised);
      w.varint(m.acceptor);
      return;
    case 'accept':
      writeBallot(w, m.ballot);
      w.varint(m.instance);
      writeBatch(w, m.batch, -1);
      return;
    case 'accepted':
      writeBallot(w, m.ballot);
      w.varint(m.instance);
      w.varint(m.acceptor);
      return;
    case 'catchup':
      w.u8(groupCode(m.requester.group));
      w.varint(m.requester.member === undefined ? 0 : m.requester.member + 1);
      w.varint(m.from);
      w.varint(m.to);
      return;
    case 'decided':
      writeDecidedEntries(w, m.entries);
      return;
    case 'committed':
      writeCommitted(w, m.entries);
      return;
    case 'progress':
      w.varint(m.learner);
      w.varint(m.delivered);
      return;
    case 'trim':
    case 'trimmed':
      writeSnapshotPart(w, m.snapshot);
      return;
    case 'registered':
      writeString(w, m.nonce);
      w.varint(m.client);
      return;
    case 'alive':
      w.varint(m.acceptor);
      writeBallot(w, m.promised);
      return;
    default:
      throw new EncodeError(`no encoding for message type ${String((m as { type: unknown }).type)}`);
  }
}

function decodeMessage(r: Reader): Message {
  const code = r.u8();
  switch (code) {
    case TYPE_CODES.submit: {
      const client = r.varint();
      const completedBelow = r.varint();
      return { type: 'submit', client, completedBelow, values: readBatch(r, client) };
    }
    case TYPE_CODES.heartbeat: {
      const from = r.varint();
      const ballot = readBallot(r);
      const flags = r.u8();
      if (flags > 3) throw MALFORMED;
      return { type: 'heartbeat', from, ballot, leading: (flags & 1) !== 0, decided: r.varint(), quorum: (flags & 2) !== 0 };
    }
    case TYPE_CODES.prepare:
      return { type: 'prepare', ballot: readBallot(r), from: r.varint() };
    case TYPE_CODES.promise: {
      const promise: PromiseMessage = {
        type: 'promise', ballot: readBallot(r), acceptor: r.varint(), from: r.varint(), cutAt: r.varint(), chunk: r.varint(),
        chunks: r.varint(), accepted: readAcceptedEntries(r),
      };
      return r.bool() ? { ...promise, trimmed: readSnapshotPart(r) } : promise;
    }
    case TYPE_CODES.nack:
      return { type: 'nack', ballot: readBallot(r), promised: readBallot(r), acceptor: r.varint() };
    case TYPE_CODES.accept:
      return { type: 'accept', ballot: readBallot(r), instance: r.varint(), batch: readBatch(r, -1) };
    case TYPE_CODES.accepted:
      return { type: 'accepted', ballot: readBallot(r), instance: r.varint(), acceptor: r.varint() };
    case TYPE_CODES.catchup: {
      const group = readGroup(r);
      const member = r.varint();
      const requester: Destination = member === 0 ? { group } : { group, member: member - 1 };
      return { type: 'catchup', requester, from: r.varint(), to: r.varint() };
    }
    case TYPE_CODES.decided:
      return { type: 'decided', entries: readDecidedEntries(r) };
    case TYPE_CODES.committed:
      return { type: 'committed', entries: readCommitted(r) };
    case TYPE_CODES.progress:
      return { type: 'progress', learner: r.varint(), delivered: r.varint() };
    case TYPE_CODES.trim:
      return { type: 'trim', snapshot: readSnapshotPart(r) };
    case TYPE_CODES.trimmed:
      return { type: 'trimmed', snapshot: readSnapshotPart(r) };
    case TYPE_CODES.registered:
      return { type: 'registered', nonce: readString(r), client: r.varint() };
    case TYPE_CODES.alive:
      return { type: 'alive', acceptor: r.varint(), promised: readBallot(r) };
    case GENERIC_CODE:
      return readGeneric(r);
    default:
      throw MALFORMED;
  }
}

// ------------------------------------------------------------------------------------ frames

export interface FrameOptions {
  /** Most bytes in one datagram, HMAC included. Default `MAX_DATAGRAM_BYTES`. */
  maxBytes?: number;
  /**
   * Stop adding messages to a datagram once it holds this many bytes (HMAC included); a single
   * larger message still gets a datagram of its own up to `maxBytes`. Smaller datagrams lose
   * less at once on a lossy network. Default `maxBytes`.
   */
  coalesceBytes?: number;
  /** HMAC-SHA256 key: with it every frame is signed. */
  key?: Uint8Array;
}

export interface EncodedFrames {
  readonly frames: Buffer[];
  /** Messages that could not fit one datagram even alone and could not be split. */
  readonly oversize: Message[];
}

/**
 * Split a message into two that mean the same, for types whose content is a list that may be
 * cut anywhere (submit values, decided entries, commit notices). Undefined when it cannot be.
 */
export function splitMessage(m: Message): [Message, Message] | undefined {
  switch (m.type) {
    case 'submit': {
      if (m.values.length < 2) return undefined;
      const half = m.values.length >> 1;
      return [{ ...m, values: m.values.slice(0, half) }, { ...m, values: m.values.slice(half) }];
    }
    case 'decided': {
      if (m.entries.length < 2) return undefined;
      const half = m.entries.length >> 1;
      return [{ ...m, entries: m.entries.slice(0, half) }, { ...m, entries: m.entries.slice(half) }];
    }
    case 'committed': {
      if (m.entries.length < 2) return undefined;
      const half = m.entries.length >> 1;
      return [{ ...m, entries: m.entries.slice(0, half) }, { ...m, entries: m.entries.slice(half) }];
    }
    default:
      return undefined;
  }
}

const scratch = new Writer(128 * 1024);
const single = new Writer(64 * 1024);

function writeHeader(w: Writer, to: Destination, from: Endpoint, flags: number): number {
  w.pos = 0;
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(FRAME_VERSION);
  w.u8(flags);
  w.u8(groupCode(to.group));
  w.u8(groupCode(from.group));
  w.varint(to.member === undefined ? 0 : to.member + 1);
  w.varint(from.id);
  const countAt = w.pos;
  w.u16(0);
  return countAt;
}

function finishFrame(w: Writer, countAt: number, count: number, key: Uint8Array | undefined): Buffer {
  w.buf[countAt] = count >>> 8;
  w.buf[countAt + 1] = count & 0xff;
  const bodyLength = w.pos;
  const out = Buffer.allocUnsafe(bodyLength + (key ? HMAC_BYTES : 0));
  w.buf.copy(out, 0, 0, bodyLength);
  if (key) createHmac('sha256', key).update(out.subarray(0, bodyLength)).digest().copy(out, bodyLength);
  return out;
}

/** Encode one message alone (no frame) and return its length, to decide whether it fits. */
function encodedLength(m: Message): number {
  single.pos = 0;
  encodeMessage(single, m);
  return single.pos;
}

/**
 * Pack messages to one destination into as few datagrams as possible, in order. A message too
 * large for a datagram is split when its type allows (see `splitMessage`), otherwise reported
 * in `oversize`. Throws `EncodeError` only for messages that are not valid protocol data.
 */
export function encodeFrames(to: Destination, from: Endpoint, messages: readonly Message[], options: FrameOptions = {}): EncodedFrames {
  const key = options.key;
  const limit = (options.maxBytes ?? MAX_DATAGRAM_BYTES) - (key ? HMAC_BYTES : 0);
  const soft = Math.min(limit, (options.coalesceBytes ?? Number.MAX_SAFE_INTEGER) - (key ? HMAC_BYTES : 0));
  const flags = key ? FLAG_HMAC : 0;
  const frames: Buffer[] = [];
  const oversize: Message[] = [];
  const w = scratch;
  let countAt = writeHeader(w, to, from, flags);
  const headerEnd = w.pos;
  let count = 0;
  const flush = (): void => {
    if (count > 0) frames.push(finishFrame(w, countAt, count, key));
    countAt = writeHeader(w, to, from, flags);
    count = 0;
  };
  const queue: Message[] = [...messages].reverse();
  while (queue.length) {
    const m = queue.pop()!;
    const before = w.pos;
    let fits = true;
    try {
      encodeMessage(w, m);
      // The first message of a frame may use up to `limit`; later ones must keep it within `soft`.
      fits = (count === 0 ? w.pos <= limit : w.pos <= soft) && count < MAX_FRAME_MESSAGES;
    } catch (err) {
      if (!(err instanceof EncodeError) || m.type !== 'committed' || m.entries.length <= MAX_COMMIT_ENTRIES) throw err;
      fits = false; // too many notices: split below
    }
    if (fits) {
      count++;
      continue;
    }
    w.pos = before;
    if (count > 0 && (m.type !== 'committed' || m.entries.length <= MAX_COMMIT_ENTRIES) && headerEnd + encodedLength(m) <= limit) {
      flush(); // fits a fresh frame
      queue.push(m);
      continue;
    }
    const halves = splitMessage(m);
    if (halves) queue.push(halves[1], halves[0]);
    else oversize.push(m);
  }
  flush();
  return { frames, oversize };
}

/** Decode and authenticate one datagram. Never throws. */
export function decodeFrame(datagram: Uint8Array, key?: Uint8Array): DecodeResult {
  try {
    const buf = Buffer.isBuffer(datagram) ? datagram : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    if (buf.length < 9) return fail('short', `${buf.length} bytes`);
    if (buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) return fail('magic', 'not a paxos frame');
    if (buf[2] !== FRAME_VERSION) return fail('version', `version ${buf[2]}, expected ${FRAME_VERSION}`);
    const flags = buf[3]!;
    if ((flags & ~FLAG_HMAC) !== 0) return fail('flags', `unknown flags ${flags}`);
    let end = buf.length;
    if (key) {
      if ((flags & FLAG_HMAC) === 0) return fail('unauthenticated', 'unsigned frame');
      if (buf.length < 9 + HMAC_BYTES) return fail('unauthenticated', 'truncated signature');
      end -= HMAC_BYTES;
      const mac = createHmac('sha256', key).update(buf.subarray(0, end)).digest();
      if (!timingSafeEqual(mac, buf.subarray(end))) return fail('unauthenticated', 'bad signature');
    } else if ((flags & FLAG_HMAC) !== 0) {
      return fail('unauthenticated', 'signed frame but no secret configured');
    }
    const r = new Reader(buf, 4, end);
    const toGroup = readGroup(r);
    const fromGroup = readGroup(r);
    const member = r.varint();
    const fromId = r.varint();
    const count = r.u16();
    if (count > r.left) throw MALFORMED;
    const messages: Message[] = new Array(count);
    for (let i = 0; i < count; i++) messages[i] = decodeMessage(r);
    if (r.left !== 0) return fail('malformed', `${r.left} trailing bytes`);
    for (const m of messages) if (!isMessage(m)) return fail('invalid', `invalid ${(m as Message).type} message`);
    const to: Destination = member === 0 ? { group: toGroup } : { group: toGroup, member: member - 1 };
    return { ok: true, frame: { to, from: { group: fromGroup, id: fromId }, messages } };
  } catch (err) {
    if (err instanceof Malformed) return fail('malformed', 'truncated or inconsistent fields');
    return fail('malformed', err instanceof Error ? err.message : String(err));
  }
}

function fail(reason: DecodeFailureReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

/** The HMAC key for a shared secret. */
export function keyFromSecret(secret: string | Uint8Array): Uint8Array {
  if (typeof secret === 'string') {
    if (secret.length === 0) throw new EncodeError('the shared secret must not be empty');
    return Buffer.from(secret, 'utf8');
  }
  if (secret.byteLength === 0) throw new EncodeError('the shared secret must not be empty');
  return secret;
}
