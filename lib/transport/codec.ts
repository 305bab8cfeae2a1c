/**
 * Compact, versioned binary framing of protocol messages for datagram transports.
 *
 * ```text
 *  frame   = 'P' 'X' version:u8 flags:u8 toGroup:u8 fromGroup:u8 toMember:varint fromId:varint
 *            count:u16be message{count} [hmac:32]
 *  flags   = bit 0: an HMAC-SHA256 of every byte before it ends the frame
 *  toMember = 0 for the whole group, else member + 1
 *  message = type:u8 fields; integers are unsigned LEB128 varints
 *  batch   = count:varint submission{count}
 *  submission = head:varint [client:varint] [seq:varint] payload
 *            head = len * 8 + isBytes * 4 + sameClient * 2 + nextSeq
 *            (sameClient: client as the previous one; nextSeq: seq = previous seq + 1)
 *  committed entries travel as runs (client, seq, position + 2, length) of consecutive seqs/positions
 *  (position -1, "unknown", travels as 1; -2, "session expired", as 0)
 * ```
 *
 * Where each part lives:
 * - this file: the frame (header, HMAC, packing messages into datagrams, splitting);
 * - wire-messages.ts: each message kind's type code and field layout, encoder and decoder side
 *   by side, plus the JSON fallback code for a type this version does not know;
 * - wire-fields.ts: fields several kinds share (ballot, group, batch, commit runs, entry lists,
 *   snapshot parts);
 * - wire-bytes.ts: the byte writer and reader (u8, u16, varint, string).
 *
 * Decoding never throws: random bytes, truncations, unknown versions, absurd lengths or counts
 * give a `DecodeFailure` with a reason, so a transport can count and drop the datagram. Every
 * count is checked against the bytes left before anything is allocated.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Destination, Message } from '../protocol/messages.js';
import { isMessage } from '../protocol/messages.js';
import type { Endpoint } from './transport.js';
import { EncodeError, Malformed, MALFORMED, Reader, Writer } from './wire-bytes.js';
import { MAX_COMMIT_ENTRIES, destination, groupCode, readGroup, writeMember } from './wire-fields.js';
import { decodeMessage, encodeMessage } from './wire-messages.js';

export { EncodeError, MAX_COMMIT_ENTRIES };

/** 2: client sessions (registered, session-expired notices), alive, promise answer ids, snapshot parts. 3: read barriers, leadership transfer. 4: application state. 5: epochs (decided entries, snapshot memberships). */
export const FRAME_VERSION = 5;
const MAGIC_0 = 0x50; // 'P'
const MAGIC_1 = 0x58; // 'X'
const FLAG_HMAC = 1;
export const HMAC_BYTES = 32;
/** Largest UDP payload over IPv4. */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Bytes of frame header before the first message, at most (2 varints of up to 8 bytes). */
export const MAX_FRAME_HEADER_BYTES = 6 + 8 + 8 + 2;
/** Most messages in one frame (the count is a u16). */
export const MAX_FRAME_MESSAGES = 0xffff;

/**
 * Worst-case bytes an `accept` adds on top of its batch's `batchSize` (type, ballot, instance,
 * count). The per-value framing (wire-fields.ts, at most 19 bytes) is below the protocol's assumed
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

/** The frame being packed; module-wide so encoding allocates only the finished datagrams. */
const scratch = new Writer(128 * 1024);
/** Measures one message alone, without disturbing the frame in `scratch`. */
const single = new Writer(64 * 1024);

/** Start a frame at `w.pos = 0`; its message count is filled in by `finishFrame`. */
function writeHeader(w: Writer, to: Destination, from: Endpoint, flags: number): void {
  w.pos = 0;
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(FRAME_VERSION);
  w.u8(flags);
  w.u8(groupCode(to.group));
  w.u8(groupCode(from.group));
  writeMember(w, to.member);
  w.varint(from.id);
  w.u16(0);
}

/** Copy the frame out of `w` with its count (the u16 just before `headerEnd`) and signature. */
function finishFrame(w: Writer, headerEnd: number, count: number, key: Uint8Array | undefined): Buffer {
  w.buf[headerEnd - 2] = count >>> 8;
  w.buf[headerEnd - 1] = count & 0xff;
  const bodyLength = w.pos;
  const out = Buffer.allocUnsafe(bodyLength + (key ? HMAC_BYTES : 0));
  w.buf.copy(out, 0, 0, bodyLength);
  if (key) createHmac('sha256', key).update(out.subarray(0, bodyLength)).digest().copy(out, bodyLength);
  return out;
}

/** More notices than one committed message may carry: it cannot be encoded whole, only split. */
function tooManyNotices(m: Message): boolean {
  return m.type === 'committed' && m.entries.length > MAX_COMMIT_ENTRIES;
}

/**
 * Encode `m` after what `w` holds if the frame then ends within `end` bytes; otherwise leave `w`
 * as it was and return false (also for too many notices, so that the caller splits them).
 */
function append(w: Writer, m: Message, end: number): boolean {
  const before = w.pos;
  try {
    encodeMessage(w, m);
    if (w.pos <= end) return true;
  } catch (err) {
    if (!(err instanceof EncodeError) || !tooManyNotices(m)) throw err;
  }
  w.pos = before;
  return false;
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
  const frames: Buffer[] = [];
  const oversize: Message[] = [];
  const w = scratch;
  writeHeader(w, to, from, key ? FLAG_HMAC : 0);
  const headerEnd = w.pos;
  let count = 0;
  const queue: Message[] = [...messages].reverse();
  while (queue.length) {
    const m = queue.pop()!;
    // The first message of a frame may use up to `limit`; later ones must keep it within `soft`.
    if (count < MAX_FRAME_MESSAGES && append(w, m, count === 0 ? limit : soft)) {
      count++;
    } else if (count > 0 && !tooManyNotices(m) && headerEnd + encodedLength(m) <= limit) {
      frames.push(finishFrame(w, headerEnd, count, key));
      w.pos = headerEnd; // the next frame reuses the header in place (finishFrame sets its count)
      count = 0;
      queue.push(m);
    } else {
      const halves = splitMessage(m);
      if (halves) queue.push(halves[1], halves[0]);
      else oversize.push(m);
    }
  }
  if (count > 0) frames.push(finishFrame(w, headerEnd, count, key));
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
    return { ok: true, frame: { to: destination(toGroup, member), from: { group: fromGroup, id: fromId }, messages } };
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
