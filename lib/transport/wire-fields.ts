/**
 * Encodings of the fields that several message kinds share (see codec.ts for the format, and
 * wire-messages.ts for which kind uses which): ballots, groups, members, batches of client
 * values, commit notice runs, phase-1 and decided entries, snapshot parts, and the JSON fallback.
 * Each writer sits next to the reader that undoes it.
 */
import type { Membership } from '../protocol/membership.js';
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';
import type {
  AcceptedEntry, Batch, ClientMark, CommitNotice, DecidedEntry, Destination, Group, Message, SnapshotPart, Submission,
} from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import type { Ballot } from '../protocol/ballot.js';
import { EncodeError, MALFORMED, type Reader, type Writer } from './wire-bytes.js';

/** Most commit notices one committed message may expand to when decoded. */
export const MAX_COMMIT_ENTRIES = 1 << 16;

// ---------------------------------------------------------------------------- ballot, address

export function writeBallot(w: Writer, b: Ballot): void {
  w.varint(b.round);
  w.varint(b.node);
}

export function readBallot(r: Reader): Ballot {
  return { round: r.varint(), node: r.varint() };
}

/** A group travels as its index in `GROUPS`, one byte. */
export function groupCode(g: Group): number {
  const code = GROUPS.indexOf(g);
  if (code < 0) throw new EncodeError(`unknown group ${String(g)}`);
  return code;
}

export function readGroup(r: Reader): Group {
  const g = GROUPS[r.u8()];
  if (g === undefined) throw MALFORMED;
  return g;
}

/** A destination's member as a varint: 0 for the whole group, else member + 1. */
export function writeMember(w: Writer, member: number | undefined): void {
  w.varint(member === undefined ? 0 : member + 1);
}

/** The destination a group and a `writeMember` code stand for. */
export function destination(group: Group, memberCode: number): Destination {
  return memberCode === 0 ? { group } : { group, member: memberCode - 1 };
}

// ------------------------------------------------------------------------------------ batches

// Bits of a submission's head varint, below the value's length (head = len * 8 + bits).
const IS_BYTES = 4;
const SAME_CLIENT = 2;
const NEXT_SEQ = 1;
/** Strings this short are tried as ASCII by hand, much faster than `Buffer.write` / `toString`. */
const SHORT_STRING_WRITE = 32;
const SHORT_STRING_READ = 16;
/** Worst case of head + client + seq varints (18 bytes), rounded up: where short strings are staged. */
const STAGING_OFFSET = 24;

/**
 * `count:varint submission{count}`; a submission's client and seq are left out when they follow
 * from the previous one's (`initialClient` stands before the first; -1: none).
 */
export function writeBatch(w: Writer, batch: Batch, initialClient: number): void {
  w.varint(batch.length);
  let prevClient = initialClient;
  let prevSeq = -2;
  for (const s of batch) {
    const same = s.client === prevClient;
    const bits = same ? (s.seq === prevSeq + 1 ? SAME_CLIENT | NEXT_SEQ : SAME_CLIENT) : 0;
    if (typeof s.value !== 'string' || !writeShortAscii(w, s, s.value, bits)) writeSubmission(w, s, bits);
    prevClient = s.client;
    prevSeq = s.seq;
  }
}

function writeHead(w: Writer, s: Submission, len: number, bits: number): void {
  w.varint(len * 8 + bits);
  if ((bits & SAME_CLIENT) === 0) w.varint(s.client);
  if ((bits & NEXT_SEQ) === 0) w.varint(s.seq);
}

/**
 * The common case, a short ASCII string: its bytes are copied by hand to a staging area past
 * the worst-case head, then moved in place once the head's length is known. False, with
 * nothing written, when the string is too long or not ASCII.
 */
function writeShortAscii(w: Writer, s: Submission, value: string, bits: number): boolean {
  const len = value.length;
  if (len > SHORT_STRING_WRITE) return false;
  w.ensure(STAGING_OFFSET + SHORT_STRING_WRITE);
  const buf = w.buf;
  const start = w.pos + STAGING_OFFSET;
  for (let i = 0; i < len; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[start + i] = c;
  }
  writeHead(w, s, len, bits); // within the room ensured above: the buffer does not move
  buf.copyWithin(w.pos, start, start + len);
  w.pos += len;
  return true;
}

function writeSubmission(w: Writer, s: Submission, bits: number): void {
  const value = s.value;
  if (typeof value === 'string') {
    const len = Buffer.byteLength(value, 'utf8');
    writeHead(w, s, len, bits);
    w.ensure(len);
    if (len) w.buf.write(value, w.pos, len, 'utf8');
    w.pos += len;
  } else if (value instanceof Uint8Array) {
    const len = value.byteLength;
    writeHead(w, s, len, bits | IS_BYTES);
    w.ensure(len);
    w.buf.set(value, w.pos);
    w.pos += len;
  } else {
    throw new EncodeError('a value must be a string or a Uint8Array');
  }
}

export function readBatch(r: Reader, initialClient: number): Submission[] {
  const n = r.count(1);
  const batch: Submission[] = new Array(n);
  let prevClient = initialClient;
  let prevSeq = -2;
  for (let i = 0; i < n; i++) {
    const head = r.varint();
    const len = Math.floor(head / 8);
    const same = (head & SAME_CLIENT) !== 0;
    const next = (head & NEXT_SEQ) !== 0;
    if (next && !same) throw MALFORMED;
    if (same && prevClient < 0) throw MALFORMED;
    const client = same ? prevClient : r.varint();
    const seq = next ? prevSeq + 1 : r.varint();
    if (len > r.left) throw MALFORMED;
    const start = r.pos;
    r.pos += len;
    // Bytes are copied out: the value outlives the datagram's buffer.
    const value = (head & IS_BYTES) !== 0
      ? new Uint8Array(r.buf.buffer.slice(r.buf.byteOffset + start, r.buf.byteOffset + start + len))
      : len <= SHORT_STRING_READ ? shortString(r.buf, start, len) : r.buf.toString('utf8', start, start + len);
    batch[i] = { client, seq, value };
    prevClient = client;
    prevSeq = seq;
  }
  return batch;
}

/** Decode a short UTF-8 string: ASCII by hand, anything else by Buffer. */
function shortString(buf: Buffer, start: number, len: number): string {
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return buf.toString('utf8', start, start + len);
    out += String.fromCharCode(c);
  }
  return out;
}

// ----------------------------------------------------------------------------- entry lists

/**
 * `runs:varint (client seq position+2 length){runs}`: runs of consecutive seqs at consecutive
 * positions of one client. +2 keeps UNKNOWN_POSITION (-1) and SESSION_EXPIRED (-2) unsigned.
 */
export function writeCommitted(w: Writer, entries: readonly CommitNotice[]): void {
  if (entries.length > MAX_COMMIT_ENTRIES) throw new EncodeError(`more than ${MAX_COMMIT_ENTRIES} commit notices in one message`);
  const runs: number[] = [];
  for (let i = 0; i < entries.length;) {
    const e = entries[i]!;
    let j = i + 1;
    while (j < entries.length) {
      const f = entries[j]!;
      if (f.client !== e.client || f.seq !== e.seq + (j - i) || f.position !== e.position + (j - i)) break;
      j++;
    }
    runs.push(e.client, e.seq, e.position + 2, j - i);
    i = j;
  }
  w.varint(runs.length / 4);
  for (const v of runs) w.varint(v);
}

export function readCommitted(r: Reader): CommitNotice[] {
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

/** `count:varint (instance ballot batch){count}` */
export function writeAcceptedEntries(w: Writer, entries: readonly AcceptedEntry[]): void {
  w.varint(entries.length);
  for (const e of entries) {
    w.varint(e.instance);
    writeBallot(w, e.ballot);
    writeBatch(w, e.batch, -1);
  }
}

export function readAcceptedEntries(r: Reader): AcceptedEntry[] {
  const n = r.count(4);
  const entries: AcceptedEntry[] = new Array(n);
  for (let i = 0; i < n; i++) entries[i] = { instance: r.varint(), ballot: readBallot(r), batch: readBatch(r, -1) };
  return entries;
}

/** `count:varint (instance epoch batch){count}` */
export function writeDecidedEntries(w: Writer, entries: readonly DecidedEntry[]): void {
  w.varint(entries.length);
  for (const e of entries) {
    w.varint(e.instance);
    w.varint(e.epoch ?? 0);
    writeBatch(w, e.batch, -1);
  }
}

export function readDecidedEntries(r: Reader): DecidedEntry[] {
  const n = r.count(2);
  const entries: DecidedEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const instance = r.varint();
    const epoch = r.varint();
    const batch = readBatch(r, -1);
    entries[i] = epoch === 0 ? { instance, batch } : { instance, batch, epoch };
  }
  return entries;
}

/**
 * `instance position nextClient part parts membership count:varint (client low active n:varint above{n}){count}`,
 * every number a varint; `membership` is `0` (epoch 0 of the options) or `1 epoch acceptors q1 q2`.
 */
export function writeSnapshotPart(w: Writer, s: SnapshotPart): void {
  w.varint(s.instance);
  w.varint(s.position);
  w.varint(s.nextClient);
  w.varint(s.part);
  w.varint(s.parts);
  writeMembership(w, s.membership);
  w.varint(s.clients.length);
  for (const c of s.clients) {
    w.varint(c.client);
    w.varint(c.low);
    w.varint(c.active);
    w.varint(c.above.length);
    for (const seq of c.above) w.varint(seq);
  }
}

export function readSnapshotPart(r: Reader): SnapshotPart {
  const instance = r.varint();
  const position = r.varint();
  const nextClient = r.varint();
  const part = r.varint();
  const parts = r.varint();
  const membership = readMembership(r);
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
  return membership ? { instance, position, nextClient, clients, part, parts, membership } : { instance, position, nextClient, clients, part, parts };
}

function writeMembership(w: Writer, m: Membership | undefined): void {
  if (!m) {
    w.u8(0);
    return;
  }
  w.u8(1);
  w.varint(m.epoch);
  w.varint(m.acceptors);
  w.varint(m.phase1Quorum);
  w.varint(m.phase2Quorum);
}

function readMembership(r: Reader): Membership | undefined {
  if (r.u8() === 0) return undefined;
  return { epoch: r.varint(), acceptors: r.varint(), phase1Quorum: r.varint(), phase2Quorum: r.varint() };
}

// ----------------------------------------------------------------------------------- fallback

/** A message type without a compact encoding travels as a string of JSON with bytes (json-bytes.ts). */
export function writeGeneric(w: Writer, m: Message): void {
  w.string(stringifyWithBytes(m));
}

export function readGeneric(r: Reader): Message {
  const parsed = parseWithBytes(r.string());
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') throw MALFORMED;
  return parsed as Message;
}
