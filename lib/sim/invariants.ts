/**
 * The safety properties of atomic broadcast, checked after every step of a simulated run:
 * - agreement: every learner's delivered sequence is a prefix of one reference sequence;
 * - validity: every delivered value was submitted, with exactly that content;
 * - integrity: no (client, seq) appears twice in the reference sequence;
 * - no regression: a learner's positions grow by one with every delivery;
 * - the position a client is told is the position every learner delivers the value at.
 */
import type { Payload } from '../protocol/messages.js';
import type { Delivery } from '../protocol/learner.js';

export class InvariantViolation extends Error {
  constructor(readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

interface Entry {
  client: number;
  seq: number;
  value: Payload;
}

const key = (client: number, seq: number): string => `${client}:${seq}`;

function sameValue(a: Payload, b: Payload): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

export class InvariantChecker {
  /** The one total order every learner must agree with (grown by whichever learner is first). */
  readonly reference: Entry[] = [];
  private readonly positionOf = new Map<string, number>();
  private readonly submitted = new Map<string, Payload>();
  private readonly learnerProgress = new Map<string, number>();
  private readonly promisedPositions = new Map<string, number>();
  /** Session key → the client incarnation that owns it (deliveries name sessions). */
  private readonly sessionOwner = new Map<number, number>();

  /** A client incarnation learned that `session` is its key. */
  bindSession(session: number, client: number): void {
    const owner = this.sessionOwner.get(session);
    if (owner !== undefined && owner !== client) {
      throw new InvariantViolation('integrity', `session ${session} issued to client ${owner} and to client ${client}`);
    }
    this.sessionOwner.set(session, client);
  }

  submit(client: number, seq: number, value: Payload): void {
    this.submitted.set(key(client, seq), value);
  }

  wasSubmitted(client: number, seq: number): boolean {
    return this.submitted.has(key(client, seq));
  }

  /** `learner` names one learner incarnation; a restarted learner starts again at position 0. */
  deliver(learner: string, d: Delivery): void {
    const expected = this.learnerProgress.get(learner) ?? 0;
    if (d.position !== expected) {
      throw new InvariantViolation('no-regression', `${learner} delivered position ${d.position}, expected ${expected}`);
    }
    this.learnerProgress.set(learner, expected + 1);
    const owner = this.sessionOwner.get(d.client);
    if (owner === undefined) throw new InvariantViolation('validity', `${learner} delivered a value of session ${d.client}, which no client holds`);
    const k = key(owner, d.seq);
    const value = this.submitted.get(k);
    if (value === undefined || !sameValue(value, d.value)) {
      throw new InvariantViolation('validity', `${learner} delivered ${k}=${show(d.value)} which was never submitted` +
        (value === undefined ? '' : ` (submitted: ${show(value)})`));
    }
    const ref = this.reference[d.position];
    if (ref === undefined) {
      const earlier = this.positionOf.get(k);
      if (earlier !== undefined) {
        throw new InvariantViolation('integrity', `${k} delivered at position ${d.position} and at ${earlier}`);
      }
      this.reference.push({ client: owner, seq: d.seq, value: d.value });
      this.positionOf.set(k, d.position);
      const promised = this.promisedPositions.get(k);
      if (promised !== undefined && promised !== d.position) {
        throw new InvariantViolation('position', `client was told ${k} is at ${promised}, learners deliver it at ${d.position}`);
      }
    } else if (ref.client !== owner || ref.seq !== d.seq) {
      throw new InvariantViolation('agreement', `${learner} delivered ${k} at position ${d.position}, ` +
        `another learner delivered ${key(ref.client, ref.seq)} there`);
    }
  }

  /** A learner continued from a trim snapshot: it skips to `toPosition`, never backwards. */
  skip(learner: string, fromPosition: number, toPosition: number): void {
    const expected = this.learnerProgress.get(learner) ?? 0;
    if (fromPosition !== expected || toPosition < fromPosition) {
      throw new InvariantViolation('no-regression', `${learner} skipped [${fromPosition}, ${toPosition}) at position ${expected}`);
    }
    this.learnerProgress.set(learner, toPosition);
  }

  /** A client was told its value (client, seq) sits at `position` (-1: decided, position trimmed away). */
  complete(client: number, seq: number, position: number): void {
    const k = key(client, seq);
    if (!this.submitted.has(k)) throw new InvariantViolation('validity', `completion for unknown submission ${k}`);
    if (position === -2) return; // session expired: outcome unknown, delivered at most once (checked by integrity)
    if (position === -1) {
      if (!this.positionOf.has(k)) throw new InvariantViolation('position', `${k} completed as trimmed but never delivered`);
      return;
    }
    const known = this.positionOf.get(k);
    if (known !== undefined && known !== position) {
      throw new InvariantViolation('position', `client was told ${k} is at ${position}, learners deliver it at ${known}`);
    }
    const promised = this.promisedPositions.get(k);
    if (promised !== undefined && promised !== position) {
      throw new InvariantViolation('position', `client was told ${k} is at ${position} and earlier at ${promised}`);
    }
    this.promisedPositions.set(k, position);
  }

  isDelivered(client: number, seq: number): boolean {
    return this.positionOf.has(key(client, seq));
  }

  deliveredBy(learner: string): number {
    return this.learnerProgress.get(learner) ?? 0;
  }
}

export function show(v: Payload): string {
  return typeof v === 'string' ? JSON.stringify(v) : `bytes[${v.byteLength}]`;
}
