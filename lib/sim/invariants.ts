/**
 * The safety properties of atomic broadcast, checked after every step of a simulated run:
 * - agreement: every learner's delivered sequence is a prefix of one reference sequence;
 * - validity: every delivered value was submitted, with exactly that content;
 * - integrity: no (client, seq) appears twice in the reference sequence;
 * - no regression: a learner's positions grow by one with every delivery;
 * - the position a client is told is the position every learner delivers the value at;
 * - acceptor monotonicity: across restarts, an acceptor never promises or accepts below a ballot
 *   it promised (or accepted) before, as seen in the answers it sent and the writes it synced;
 * - one value per ballot: a ballot never carries two different batches for one instance;
 * - chosen uniqueness: once a phase-2 quorum accepted one ballot's batch at an instance, no
 *   other batch is ever chosen there (compared by content);
 * - decisions are chosen: every value a learner delivers, and every batch a proposer's embedded
 *   learner decides, is the batch chosen at that instance;
 * - durability: every value a client was told is committed is delivered (checked at the end).
 */
import { type Ballot, compareBallots, formatBallot } from '../protocol/ballot.js';
import { type Batch, type Payload, SESSION_EXPIRED } from '../protocol/messages.js';
import type { Delivery } from '../protocol/learner.js';
import { type Membership, epochOf } from '../protocol/membership.js';
import { ChosenValues } from './chosen-values.js';

/**
 * A read barrier's answer (`who` asked it when `required` values were known decided): every value
 * decided before the barrier must lie below the position it answers with.
 */
export function checkBarrierAnswer(who: string, required: number | undefined, position: number): void {
  if (required === undefined) throw new InvariantViolation('barrier', `${who} was answered a barrier it never asked for`);
  if (position < required) {
    throw new InvariantViolation('barrier', `${who}'s barrier, asked when ${required} values were decided, was answered with position ${position}`);
  }
}

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
/** Acceptors promise per epoch (see acceptor-state.ts): monotonic within each. */
const perEpoch = (acceptor: string, ballot: Ballot): string => (epochOf(ballot) === 0 ? acceptor : `${acceptor} (epoch ${epochOf(ballot)})`);

function sameValue(a: Payload, b: Payload): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

export function sameBatch(a: Batch, b: Batch): boolean {
  return a.length === b.length && a.every((s, i) => s.client === b[i]!.client && s.seq === b[i]!.seq && sameValue(s.value, b[i]!.value));
}

export const showBatch = (b: Batch): string =>
  b.length === 0 ? 'no-op' : b.slice(0, 4).map((s) => `${s.client % 2 ** 32}:${s.seq}`).join(',') + (b.length > 4 ? `,+${b.length - 4}` : '');

export interface CheckerSettings {
  /** Epoch 0's acceptors and quorums; without it, chosen values are not tracked. */
  membership?: Membership;
}

export class InvariantChecker {
  /** The one total order every learner must agree with (grown by whichever learner is first). */
  readonly reference: Entry[] = [];
  private readonly positionOf = new Map<string, number>();
  private readonly submitted = new Map<string, Payload>();
  private readonly learnerProgress = new Map<string, number>();
  private readonly promisedPositions = new Map<string, number>();
  private highestPromised = -1;
  /** Highest ballot each acceptor (by name, across restarts) promised or accepted in what it sent or synced. */
  private readonly acceptorHigh = new Map<string, Ballot>();
  private readonly acceptorDisk = new Map<string, Ballot>();
  /** What the acceptors chose, per instance and epoch (when tracked). */
  readonly chosen: ChosenValues | undefined;

  constructor(settings: CheckerSettings = {}) {
    this.chosen = settings.membership && new ChosenValues(settings.membership);
  }

  submit(client: number, seq: number, value: Payload): void {
    const k = key(client, seq);
    if (this.submitted.has(k)) {
      throw new InvariantViolation('identity', `two submissions share the identity ${k} (a client incarnation key was reused)`);
    }
    this.submitted.set(k, value);
  }

  // ------------------------------------------------------------------------- acceptors, chosen values

  /**
   * Acceptor `acceptor` (a name that survives restarts) sent an answer at `ballot` (a promise, or
   * a vote for an acceptance). It must not be below any ballot it answered before, in any
   * incarnation. (Not compared with its disk: a held answer leaves after writes made after it.)
   */
  acceptorSent(acceptor: string, what: string, ballot: Ballot): void {
    acceptor = perEpoch(acceptor, ballot);
    const floor = this.acceptorHigh.get(acceptor);
    const sent = floor;
    if (floor && compareBallots(ballot, floor) < 0) {
      throw new InvariantViolation('acceptor-monotonic',
        `${acceptor} ${what} at ballot ${formatBallot(ballot)} after promising ${formatBallot(floor)}`);
    }
    if (!sent || compareBallots(ballot, sent) > 0) this.acceptorHigh.set(acceptor, ballot);
  }

  /** Acceptor `acceptor`'s write at `ballot` reached its disk: writes never go below earlier ones. */
  acceptorSynced(acceptor: string, what: string, ballot: Ballot): void {
    acceptor = perEpoch(acceptor, ballot);
    const disk = this.acceptorDisk.get(acceptor);
    if (disk && compareBallots(ballot, disk) < 0) {
      throw new InvariantViolation('acceptor-monotonic',
        `${acceptor} persisted ${what} at ballot ${formatBallot(ballot)} after persisting ${formatBallot(disk)}`);
    }
    if (!disk || compareBallots(ballot, disk) > 0) this.acceptorDisk.set(acceptor, ballot);
  }

  /** An acceptor took `batch` at (instance, ballot) into its state. */
  accepting(instance: number, ballot: Ballot, batch: Batch): void {
    this.chosen?.accepting(instance, ballot, batch);
  }

  /** Acceptor `acceptor` told the others it accepted (instance, ballot). */
  vote(instance: number, ballot: Ballot, acceptor: number): void {
    this.chosen?.vote(instance, ballot, acceptor);
  }

  chosenAt(instance: number): Batch | undefined {
    return this.chosen?.chosenAt(instance)?.batch;
  }

  /** A proposer's embedded learner (or any learner with a retained log) decided `batch` at `instance`. */
  decided(who: string, instance: number, batch: Batch): void {
    if (!this.chosen) return;
    const chosen = this.chosen.chosenAt(instance);
    if (!chosen) throw new InvariantViolation('agreement', `${who} decided [${showBatch(batch)}] at instance ${instance}, where nothing was chosen`);
    if (chosen.batch !== batch && !sameBatch(chosen.batch, batch)) {
      throw new InvariantViolation('agreement', `${who} decided [${showBatch(batch)}] at instance ${instance}, ` +
        `where [${showBatch(chosen.batch)}] was chosen`);
    }
  }

  private checkDeliveryChosen(learner: string, d: Delivery): void {
    if (!this.chosen) return;
    const chosen = this.chosen.chosenAt(d.instance);
    if (!chosen) {
      throw new InvariantViolation('agreement', `${learner} delivered ${key(d.client, d.seq)} from instance ${d.instance}, where nothing was chosen`);
    }
    chosen.keys ??= new Map(chosen.batch.map((s) => [key(s.client, s.seq), s.value]));
    const value = chosen.keys.get(key(d.client, d.seq));
    if (value === undefined || !sameValue(value, d.value)) {
      throw new InvariantViolation('agreement', `${learner} delivered ${key(d.client, d.seq)}=${show(d.value)} from instance ` +
        `${d.instance}, where [${showBatch(chosen.batch)}] was chosen`);
    }
  }

  /** Values clients were told are committed that no learner delivered (for the end-of-run check). */
  committedButUndelivered(): string[] {
    const lost: string[] = [];
    for (const k of this.promisedPositions.keys()) if (!this.positionOf.has(k)) lost.push(k);
    return lost;
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
    this.checkDeliveryChosen(learner, d);
    const k = key(d.client, d.seq);
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
      this.reference.push({ client: d.client, seq: d.seq, value: d.value });
      this.positionOf.set(k, d.position);
      const promised = this.promisedPositions.get(k);
      if (promised !== undefined && promised !== d.position) {
        throw new InvariantViolation('position', `client was told ${k} is at ${promised}, learners deliver it at ${d.position}`);
      }
    } else if (ref.client !== d.client || ref.seq !== d.seq) {
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

  /** A learner restored an application state holding every value below `position`: forward only. */
  restore(learner: string, position: number): void {
    const expected = this.learnerProgress.get(learner) ?? 0;
    if (position < expected) throw new InvariantViolation('no-regression', `${learner} restored a state at position ${position} after delivering ${expected}`);
    if (position > this.reference.length) {
      throw new InvariantViolation('state', `${learner} restored a state at position ${position}, beyond the ${this.reference.length} values delivered anywhere`);
    }
    this.learnerProgress.set(learner, position);
  }

  /** A client was told its value (client, seq) sits at `position` (-1: decided, position trimmed away). */
  complete(client: number, seq: number, position: number): void {
    const k = key(client, seq);
    if (!this.submitted.has(k)) throw new InvariantViolation('validity', `completion for unknown submission ${k}`);
    if (position === SESSION_EXPIRED) return; // outcome unknown; integrity still holds it to one delivery
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
    if (position > this.highestPromised) this.highestPromised = position;
  }

  /** Values known decided so far: delivered by some learner, or promised to a client at a position. */
  get knownDecided(): number {
    return Math.max(this.reference.length, this.highestPromised + 1);
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
