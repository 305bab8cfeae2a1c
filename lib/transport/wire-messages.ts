/**
 * The wire encoding of each protocol message kind: its type code, and its encoder and decoder
 * side by side (see codec.ts for the frame around them, wire-fields.ts for the shared fields).
 * The layout comment above each kind lists its fields in wire order after the `type:u8` code;
 * a bare name is a varint. Codes and field order are frame version 4: changing either needs a
 * new `FRAME_VERSION`.
 *
 * Decoders read fields as they build the message: an object literal evaluates its properties in
 * order, so the order of a decoder's properties is the wire order (reordering them breaks it).
 */
import { MAX_BARRIER_TOKENS, type Message, type PromiseMessage, type TrimMessage, type TrimmedMessage } from '../protocol/messages.js';
import { EncodeError, MALFORMED, type Reader, type Writer } from './wire-bytes.js';
import {
  destination, groupCode, readAcceptedEntries, readBallot, readBatch, readCommitted, readDecidedEntries, readGeneric, readGroup,
  readSnapshotPart, writeAcceptedEntries, writeBallot, writeBatch, writeCommitted, writeDecidedEntries, writeGeneric, writeMember,
  writeSnapshotPart,
} from './wire-fields.js';

type MessageOf<T extends Message['type']> = Extract<Message, { readonly type: T }>;

interface Kind<M extends Message> {
  /** The `type:u8` byte. */
  readonly code: number;
  /** The fields after the code. */
  encode(w: Writer, m: M): void;
  decode(r: Reader): M;
}

/** trim and trimmed differ only in meaning: one snapshot part each. */
function writeSnapshotMessage(w: Writer, m: TrimMessage | TrimmedMessage): void {
  writeSnapshotPart(w, m.snapshot);
}

/**
 * Every message type has a compact encoding here; the compiler insists on one for each new type.
 * (A type unknown at run time still travels, as JSON under `GENERIC_CODE`.)
 */
const KINDS: { readonly [T in Message['type']]: Kind<MessageOf<T>> } = {
  /** client completedBelow batch (the first value's client defaults to `client`) */
  submit: {
    code: 1,
    encode(w, m) {
      w.varint(m.client);
      w.varint(m.completedBelow);
      writeBatch(w, m.values, m.client);
    },
    decode(r) {
      const client = r.varint();
      const completedBelow = r.varint();
      return { type: 'submit', client, completedBelow, values: readBatch(r, client) };
    },
  },
  /** from ballot flags:u8 decided (flags: bit 0 leading, bit 1 quorum) */
  heartbeat: {
    code: 2,
    encode(w, m) {
      w.varint(m.from);
      writeBallot(w, m.ballot);
      w.u8((m.leading ? 1 : 0) | (m.quorum ? 2 : 0));
      w.varint(m.decided);
    },
    decode(r) {
      const from = r.varint();
      const ballot = readBallot(r);
      const flags = r.u8();
      if (flags > 3) throw MALFORMED;
      return { type: 'heartbeat', from, ballot, leading: (flags & 1) !== 0, decided: r.varint(), quorum: (flags & 2) !== 0 };
    },
  },
  /** ballot from */
  prepare: {
    code: 3,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.from);
    },
    decode: (r) => ({ type: 'prepare', ballot: readBallot(r), from: r.varint() }),
  },
  /** ballot acceptor from cutAt chunk chunks acceptedEntries hasTrimmed:u8 [snapshotPart] */
  promise: {
    code: 4,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.acceptor);
      w.varint(m.from);
      w.varint(m.cutAt);
      w.varint(m.chunk);
      w.varint(m.chunks);
      writeAcceptedEntries(w, m.accepted);
      w.u8(m.trimmed ? 1 : 0);
      if (m.trimmed) writeSnapshotPart(w, m.trimmed);
    },
    decode(r) {
      const promise: PromiseMessage = {
        type: 'promise', ballot: readBallot(r), acceptor: r.varint(), from: r.varint(), cutAt: r.varint(), chunk: r.varint(),
        chunks: r.varint(), accepted: readAcceptedEntries(r),
      };
      return r.bool() ? { ...promise, trimmed: readSnapshotPart(r) } : promise;
    },
  },
  /** ballot promised acceptor */
  nack: {
    code: 5,
    encode(w, m) {
      writeBallot(w, m.ballot);
      writeBallot(w, m.promised);
      w.varint(m.acceptor);
    },
    decode: (r) => ({ type: 'nack', ballot: readBallot(r), promised: readBallot(r), acceptor: r.varint() }),
  },
  /** ballot instance batch */
  accept: {
    code: 6,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.instance);
      writeBatch(w, m.batch, -1);
    },
    decode: (r) => ({ type: 'accept', ballot: readBallot(r), instance: r.varint(), batch: readBatch(r, -1) }),
  },
  /** ballot instance acceptor */
  accepted: {
    code: 7,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.instance);
      w.varint(m.acceptor);
    },
    decode: (r) => ({ type: 'accepted', ballot: readBallot(r), instance: r.varint(), acceptor: r.varint() }),
  },
  /** requesterGroup:u8 requesterMember from to (member: 0 for the whole group, else member + 1) */
  catchup: {
    code: 8,
    encode(w, m) {
      w.u8(groupCode(m.requester.group));
      writeMember(w, m.requester.member);
      w.varint(m.from);
      w.varint(m.to);
    },
    decode(r) {
      const group = readGroup(r);
      return { type: 'catchup', requester: destination(group, r.varint()), from: r.varint(), to: r.varint() };
    },
  },
  /** decidedEntries */
  decided: {
    code: 9,
    encode: (w, m) => writeDecidedEntries(w, m.entries),
    decode: (r) => ({ type: 'decided', entries: readDecidedEntries(r) }),
  },
  /** commitRuns */
  committed: {
    code: 10,
    encode: (w, m) => writeCommitted(w, m.entries),
    decode: (r) => ({ type: 'committed', entries: readCommitted(r) }),
  },
  /** learner delivered stateAt */
  progress: {
    code: 11,
    encode(w, m) {
      w.varint(m.learner);
      w.varint(m.delivered);
      w.varint(m.stateAt);
    },
    decode: (r) => ({ type: 'progress', learner: r.varint(), delivered: r.varint(), stateAt: r.varint() }),
  },
  /** snapshotPart */
  trim: { code: 12, encode: writeSnapshotMessage, decode: (r) => ({ type: 'trim', snapshot: readSnapshotPart(r) }) },
  /** snapshotPart */
  trimmed: { code: 13, encode: writeSnapshotMessage, decode: (r) => ({ type: 'trimmed', snapshot: readSnapshotPart(r) }) },
  /** nonce:string client */
  registered: {
    code: 14,
    encode(w, m) {
      w.string(m.nonce);
      w.varint(m.client);
    },
    decode: (r) => ({ type: 'registered', nonce: r.string(), client: r.varint() }),
  },
  /** acceptor promised */
  alive: {
    code: 15,
    encode(w, m) {
      w.varint(m.acceptor);
      writeBallot(w, m.promised);
    },
    decode: (r) => ({ type: 'alive', acceptor: r.varint(), promised: readBallot(r) }),
  },
  /** count token:string... */
  barrier: {
    code: 16,
    encode(w, m) {
      writeTokens(w, m.tokens);
    },
    decode: (r) => ({ type: 'barrier', tokens: readTokens(r) }),
  },
  /** count token:string... position */
  barrierPassed: {
    code: 17,
    encode(w, m) {
      writeTokens(w, m.tokens);
      w.varint(m.position);
    },
    decode: (r) => ({ type: 'barrierPassed', tokens: readTokens(r), position: r.varint() }),
  },
  /** ballot round */
  confirm: {
    code: 18,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.round);
    },
    decode: (r) => ({ type: 'confirm', ballot: readBallot(r), round: r.varint() }),
  },
  /** ballot acceptor round promised */
  confirmed: {
    code: 19,
    encode(w, m) {
      writeBallot(w, m.ballot);
      w.varint(m.acceptor);
      w.varint(m.round);
      writeBallot(w, m.promised);
    },
    decode: (r) => ({ type: 'confirmed', ballot: readBallot(r), acceptor: r.varint(), round: r.varint(), promised: readBallot(r) }),
  },
  /** from ballot */
  takeover: {
    code: 20,
    encode(w, m) {
      w.varint(m.from);
      writeBallot(w, m.ballot);
    },
    decode: (r) => ({ type: 'takeover', from: r.varint(), ballot: readBallot(r) }),
  },
  /** from to */
  transferRequest: {
    code: 23,
    encode(w, m) {
      w.varint(m.from);
      w.varint(m.to);
    },
    decode: (r) => ({ type: 'transferRequest', from: r.varint(), to: r.varint() }),
  },
  /** requester atLeast source+1 instance chunk (source -1, "anyone", travels as 0) */
  stateRequest: {
    code: 21,
    encode(w, m) {
      w.varint(m.requester);
      w.varint(m.atLeast);
      w.varint(m.source + 1);
      w.varint(m.instance);
      w.varint(m.chunk);
    },
    decode: (r) => ({ type: 'stateRequest', requester: r.varint(), atLeast: r.varint(), source: r.varint() - 1, instance: r.varint(), chunk: r.varint() }),
  },
  /** learner instance chunk chunks data:bytes */
  stateChunk: {
    code: 22,
    encode(w, m) {
      w.varint(m.learner);
      w.varint(m.instance);
      w.varint(m.chunk);
      w.varint(m.chunks);
      w.bytes(m.data);
    },
    decode: (r) => ({ type: 'stateChunk', learner: r.varint(), instance: r.varint(), chunk: r.varint(), chunks: r.varint(), data: r.bytes() }),
  },
};

function writeTokens(w: Writer, tokens: readonly string[]): void {
  w.varint(tokens.length);
  for (const t of tokens) w.string(t);
}

function readTokens(r: Reader): string[] {
  const n = r.varint();
  if (n > MAX_BARRIER_TOKENS) throw MALFORMED;
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) tokens.push(r.string());
  return tokens;
}


/** `len:varint` JSON text: a message type this version has no kind for (see wire-fields.ts). */
const GENERIC_CODE = 0x7f;

/** The encoder's lookup by type: a Map, so a type such as `constructor` cannot hit an Object.prototype member. */
const BY_TYPE = new Map<string, Kind<Message>>();
/** The decoder's lookup by code, every u8 present: an unknown code is `undefined`, never an out-of-bounds read. */
const DECODERS = new Array<((r: Reader) => Message) | undefined>(256).fill(undefined);
DECODERS[GENERIC_CODE] = readGeneric;
for (const [type, kind] of Object.entries(KINDS)) {
  // Two kinds on one code would decode one as the other: refuse to load instead.
  if (DECODERS[kind.code] !== undefined) throw new Error(`wire code ${kind.code} of ${type} is taken`);
  BY_TYPE.set(type, kind);
  DECODERS[kind.code] = kind.decode;
}

/** `type:u8 fields`. Throws `EncodeError` for a message that is not valid protocol data. */
export function encodeMessage(w: Writer, m: Message): void {
  const kind = BY_TYPE.get(m.type);
  if (kind === undefined) {
    if (typeof (m as { type: unknown }).type !== 'string') throw new EncodeError('a message needs a string type');
    w.u8(GENERIC_CODE);
    writeGeneric(w, m);
    return;
  }
  w.u8(kind.code);
  kind.encode(w, m);
}

/** Throws `MALFORMED` for an unknown code or fields that do not parse. */
export function decodeMessage(r: Reader): Message {
  const decode = DECODERS[r.u8()];
  if (decode === undefined) throw MALFORMED;
  return decode(r);
}
