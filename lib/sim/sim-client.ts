/**
 * THE ONE PLACE where the simulator creates a protocol `Client` and learns which identity
 * (session key, seq) a submission got, and which submission a completion belongs to.
 *
 * A client's values travel under the session key the log issued it (see `Client`), which it
 * learns only after its registration was ordered; values submitted before wait for it. So a
 * submission is reported to the checker (`identified`) once the key it travels under is known,
 * which is always before it can be delivered.
 */
import { Client, type Completion } from '../protocol/client.js';
import type { PassedBarrier } from '../protocol/role.js';
import { checkBarrierAnswer } from './invariants.js';
import type { Payload } from '../protocol/messages.js';
import type { ResolvedOptions } from '../protocol/options.js';
import type { Rng } from './rng.js';

export interface Identity {
  readonly client: number;
  readonly seq: number;
}

export class SimClient {
  readonly node: Client;
  /** Submitted, key not known yet. */
  private waiting: { seq: number; value: Payload }[] = [];
  /** The session key each identified seq travels under. */
  private readonly keyOf = new Map<number, number>();
  /** Seqs submitted and not completed, as seen from outside the client (not its own bookkeeping). */
  private readonly outstanding = new Set<number>();
  /** Read barriers asked and not answered: token → the least position the answer must carry. */
  private readonly barriers = new Map<string, number>();
  private readonly token: () => string;

  /**
   * @param nonces where registration nonces come from (the simulation's seeded randomness)
   * @param identified told of each submission once its identity is known
   */
  constructor(id: number, options: ResolvedOptions, nonces: Rng, private readonly identified: (i: Identity, value: Payload) => void) {
    const hex = (): string => Math.floor(nonces.next() * 2 ** 32).toString(16).padStart(8, '0');
    this.node = new Client(id, options, { nonce: () => hex() + hex() });
    this.token = () => `b${hex()}${hex()}`;
  }

  /** Submit a value (reported through `identified` once its session key is known). */
  submit(value: Payload, now: number): void {
    const seq = this.node.submit(value, now);
    this.outstanding.add(seq);
    this.waiting.push({ seq, value });
    this.identify();
  }

  /**
   * Ask for a read barrier. `required`: how many values the world had decided by now (the most
   * any learner, proposer or commit notice has shown), which the answer must cover.
   */
  barrier(required: number, now: number): void {
    const token = this.token();
    this.barriers.set(token, required);
    this.node.barrier(token, now);
  }

  /** Barriers answered (from the client's Ready): linearizable reads need every earlier decision below the answer. */
  passed(barriers: readonly PassedBarrier[] | undefined, name: string): void {
    for (const b of barriers ?? []) {
      checkBarrierAnswer(name, this.barriers.get(b.token), b.position);
      this.barriers.delete(b.token);
    }
  }

  /** Barriers asked and not yet answered. */
  get pendingBarriers(): number {
    return this.barriers.size;
  }

  /** After every step of the client: a session key may have arrived. */
  identify(): void {
    const key = this.node.session;
    if (key === undefined || this.waiting.length === 0) return;
    for (const w of this.waiting) {
      this.keyOf.set(w.seq, key);
      this.identified({ client: key, seq: w.seq }, w.value);
    }
    this.waiting = [];
  }

  /** The client's completions (from its Ready), with the identity they complete (unidentified ones: none). */
  complete(completions: readonly Completion[]): (Identity & { position: number })[] {
    const out: (Identity & { position: number })[] = [];
    for (const c of completions) {
      this.outstanding.delete(c.seq);
      const client = this.keyOf.get(c.seq);
      if (client === undefined) continue; // expired before it ever travelled
      this.keyOf.delete(c.seq);
      out.push({ client, seq: c.seq, position: c.position });
    }
    return out;
  }

  /**
   * Values submitted and not yet completed, counted from the submissions and the completions the
   * client emitted — not from its own pending count, so a client that forgets a value is caught.
   */
  get pending(): number {
    return this.outstanding.size;
  }
}
