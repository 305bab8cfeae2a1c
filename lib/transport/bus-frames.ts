/**
 * How a bus frame crosses threads. Structured clone walks an object graph per post and the
 * receiver rebuilds it; for the messages that carry one small object per value (a 2a's batch of
 * submissions, a client's submit, a leader's commit notices) and for runs of 2b votes, that walk
 * was most of the leader's time (profile in docs/benchmarks.md). Those travel packed instead:
 * their numbers in one `Float64Array` (copied as bytes) and their payloads as one string cut at
 * offsets (when all are strings; else one plain array).
 * A message that goes to several channels in one send (a 2a goes to the acceptors, the learners
 * and the proposers) is packed once. Everything else travels as it is. Order within the frame is
 * kept, and what comes out is equal to what went in.
 */
import type { Ballot } from '../protocol/ballot.js';
import type { AcceptMessage, CommitNotice, Message, Payload, Submission } from '../protocol/messages.js';

const VOTE_FIELDS = 4;
const SUBMISSION_FIELDS = 2;
const NOTICE_FIELDS = 3;

/** A message with one entry per value, packed: `numbers` per entry, `values` the payloads. */
type Packed =
  | { readonly packed: 'accept'; readonly ballot: Ballot; readonly instance: number; readonly numbers: Float64Array; readonly values: PackedValues }
  | { readonly packed: 'submit'; readonly client: number; readonly completedBelow: number; readonly numbers: Float64Array; readonly values: PackedValues }
  | { readonly packed: 'committed'; readonly numbers: Float64Array };

/** A frame element: a message, a run of consecutive 2b votes (`[round, node, instance, acceptor]` each), or a packed message. */
export type FrameItem = Message | Float64Array | Packed;

/** Below this many entries a message clones as cheaply as it packs. */
const PACK_MIN_ENTRIES = 4;

/**
 * Payloads of a packed message: when all are strings, one string (cloned as one copy of its
 * characters) cut at `ends`; otherwise the payloads as they are.
 */
type PackedValues = { readonly text: string; readonly ends: Float64Array } | readonly Payload[];

function packSubmissions(batch: readonly Submission[]): { numbers: Float64Array; values: PackedValues } {
  const numbers = new Float64Array(batch.length * SUBMISSION_FIELDS);
  let allText = true;
  for (let i = 0; i < batch.length; i++) {
    const s = batch[i]!;
    numbers[i * SUBMISSION_FIELDS] = s.client;
    numbers[i * SUBMISSION_FIELDS + 1] = s.seq;
    if (typeof s.value !== 'string') allText = false;
  }
  if (!allText) return { numbers, values: batch.map((s) => s.value) };
  const ends = new Float64Array(batch.length);
  let text = '';
  for (let i = 0; i < batch.length; i++) {
    text += batch[i]!.value as string;
    ends[i] = text.length;
  }
  return { numbers, values: { text, ends } };
}

function unpackSubmissions(numbers: Float64Array, values: PackedValues): Submission[] {
  const n = numbers.length / SUBMISSION_FIELDS;
  const out = new Array<Submission>(n);
  const cut = Array.isArray(values) ? undefined : (values as { text: string; ends: Float64Array });
  for (let i = 0, start = 0; i < n; i++) {
    let value: Payload;
    if (cut) {
      const end = cut.ends[i]!;
      value = cut.text.slice(start, end);
      start = end;
    } else value = (values as readonly Payload[])[i]!;
    out[i] = { client: numbers[i * SUBMISSION_FIELDS]!, seq: numbers[i * SUBMISSION_FIELDS + 1]!, value };
  }
  return out;
}

function packMessage(m: Message): Packed | undefined {
  switch (m.type) {
    case 'accept':
      return m.batch.length < PACK_MIN_ENTRIES ? undefined : { packed: 'accept', ballot: m.ballot, instance: m.instance, ...packSubmissions(m.batch) };
    case 'submit':
      return m.values.length < PACK_MIN_ENTRIES ? undefined
        : { packed: 'submit', client: m.client, completedBelow: m.completedBelow, ...packSubmissions(m.values) };
    case 'committed': {
      if (m.entries.length < PACK_MIN_ENTRIES) return undefined;
      const numbers = new Float64Array(m.entries.length * NOTICE_FIELDS);
      m.entries.forEach((e, i) => {
        numbers[i * NOTICE_FIELDS] = e.client;
        numbers[i * NOTICE_FIELDS + 1] = e.seq;
        numbers[i * NOTICE_FIELDS + 2] = e.position;
      });
      return { packed: 'committed', numbers };
    }
    default:
      return undefined;
  }
}

function unpackMessage(p: Packed): Message {
  switch (p.packed) {
    case 'accept': return { type: 'accept', ballot: p.ballot, instance: p.instance, batch: unpackSubmissions(p.numbers, p.values) } satisfies AcceptMessage;
    case 'submit': return { type: 'submit', client: p.client, completedBelow: p.completedBelow, values: unpackSubmissions(p.numbers, p.values) };
    case 'committed': {
      const entries = new Array<CommitNotice>(p.numbers.length / NOTICE_FIELDS);
      for (let i = 0; i < entries.length; i++) {
        entries[i] = { client: p.numbers[i * NOTICE_FIELDS]!, seq: p.numbers[i * NOTICE_FIELDS + 1]!, position: p.numbers[i * NOTICE_FIELDS + 2]! };
      }
      return { type: 'committed', entries };
    }
  }
}

/** Packs the frames of one send; a message in several of them is packed once. */
export class FramePacker {
  private readonly packed = new Map<Message, Packed | undefined>();

  pack(frame: readonly Message[]): FrameItem[] {
    const out: FrameItem[] = [];
    for (let i = 0; i < frame.length;) {
      const m = frame[i]!;
      let j = i;
      while (j < frame.length && frame[j]!.type === 'accepted') j++;
      if (j - i >= 2) {
        out.push(packVotes(frame, i, j));
        i = j;
        continue;
      }
      let p = this.packed.get(m);
      if (p === undefined && !this.packed.has(m)) this.packed.set(m, (p = packMessage(m)));
      out.push(p ?? m);
      i++;
    }
    return out;
  }
}

/** frame[from, to), all 2b votes, as one run. */
function packVotes(frame: readonly Message[], from: number, to: number): Float64Array {
  const votes = new Float64Array((to - from) * VOTE_FIELDS);
  for (let k = from, o = 0; k < to; k++, o += VOTE_FIELDS) {
    const v = frame[k] as Extract<Message, { type: 'accepted' }>;
    votes[o] = v.ballot.round;
    votes[o + 1] = v.ballot.node;
    votes[o + 2] = v.instance;
    votes[o + 3] = v.acceptor;
  }
  return votes;
}

function unpackVotes(votes: Float64Array, out: Message[]): void {
  let ballot: Ballot | undefined;
  for (let o = 0; o + VOTE_FIELDS <= votes.length; o += VOTE_FIELDS) {
    const round = votes[o]!;
    const node = votes[o + 1]!;
    // Votes of one run almost always share a ballot: share the object too (ballots are never mutated).
    if (!ballot || ballot.round !== round || ballot.node !== node) ballot = { round, node };
    out.push({ type: 'accepted', ballot, instance: votes[o + 2]!, acceptor: votes[o + 3]! });
  }
}

/** The messages of a received frame, in order. */
export function unpackFrame(items: readonly FrameItem[]): Message[] {
  if (!items.some((item) => item instanceof Float64Array || 'packed' in item)) return items as Message[];
  const out: Message[] = [];
  for (const item of items) {
    if (item instanceof Float64Array) unpackVotes(item, out);
    else if ('packed' in item) out.push(unpackMessage(item));
    else out.push(item);
  }
  return out;
}
