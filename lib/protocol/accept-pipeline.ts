/**
 * Phase 2 of a leader: client values wait in a queue and go out in batches, one batch per
 * instance, with up to `window` instances in flight. A batch is cut as soon as the window has
 * room (no fixed batching delay). Unanswered 2a are sent again; an instance leaves the window
 * once the embedded learner delivered it.
 *
 * The pipeline also remembers which values and registrations are queued or in flight, so that
 * a client's retransmission is not proposed twice.
 */
import type { Ballot } from './ballot.js';
import type { Batch, Submission } from './messages.js';
import { REGISTRATION_CLIENT, submissionSize } from './messages.js';
import { Fifo } from './fifo.js';
import type { Learner } from './learner.js';
import { stopSignIn } from './membership.js';
import type { ResolvedOptions } from './options.js';
import type { InstanceBatch, Reproposals } from './prepare-round.js';
import { type Outbox, TO_ACCEPTORS, TO_LEARNERS, TO_PROPOSERS } from './role.js';

interface InFlight {
  batch: Batch;
  sentAt: number;
}

/** The pipeline's counters, part of the proposer's `metrics`. */
export interface PipelineMetrics {
  instancesProposed: number;
  valuesProposed: number;
  retransmissions: number;
  /** Of those, 2a resent because an instance sent later was decided first. */
  overtakenRetransmissions: number;
  queueDepth: number;
  inFlight: number;
}

export class AcceptPipeline {
  private nextToPropose = 0;
  private readonly inFlight = new Map<number, InFlight>();
  /** Every in-flight instance below this one has been released after delivery. */
  private releasedBelow = 0;
  /** What phase 1 found to propose again, consumed from the end (lowest instance first). */
  private reproposals: InstanceBatch[] = [];
  private readonly queue = new Fifo<Submission>();
  /** (client, seq) queued or in flight, so a retransmitted submission is not proposed twice. */
  private readonly ordering = new Map<number, Set<number>>();
  /** Registration nonces queued or in flight, likewise. */
  private readonly registering = new Set<string>();
  /** A reconfiguration to propose next (it goes ahead of the queue: the queue waits for the new epoch). */
  private stopSign: Submission | undefined;
  /**
   * The instance of the stop-sign this leader proposed (or re-proposed) in this epoch: nothing is
   * proposed above it until the learner crosses it and the new epoch's phase 1 restarts us.
   */
  private stoppedAt: number | undefined;

  constructor(private readonly options: ResolvedOptions, private readonly outbox: Outbox, private readonly metrics: PipelineMetrics) {}

  /** One past the highest instance this leader has proposed or will re-propose: a read barrier's index. */
  get proposedEnd(): number {
    return this.nextToPropose;
  }

  /** Nothing queued, in flight or left to re-propose: every instance proposed was delivered. */
  get drained(): boolean {
    return this.inFlight.size === 0 && this.queue.length === 0 && this.reproposals.length === 0 && this.stopSign === undefined;
  }

  /** Propose `entry` (a reconfiguration for the next epoch) next, unless one is pending or proposed already. */
  queueStopSign(entry: Submission): void {
    if (this.stopSign === undefined && this.stoppedAt === undefined) this.stopSign = entry;
  }

  /** Queue `client`'s values unless they are queued or in flight already. */
  queueValues(client: number, values: readonly Submission[]): void {
    const seqs = this.orderingOf(client);
    for (const s of values) {
      if (seqs.has(s.seq)) continue;
      seqs.add(s.seq);
      this.queue.push(s);
    }
  }

  /** Queue a session registration unless its nonce is queued or in flight already. */
  queueRegistration(registration: Submission, nonce: string): void {
    if (this.registering.has(nonce)) return;
    this.registering.add(nonce);
    this.queue.push(registration);
  }

  /** Phase 1 is over: propose its findings first, new values from `end` on. */
  begin(found: Reproposals): void {
    this.reproposals = found.entries;
    this.nextToPropose = found.end;
  }

  /**
   * Fill the window under `ballot`: re-proposals first, then batches cut from the queue.
   * `learner`: the proposer's own, which tells what is decided and hears each 2a first.
   */
  fill(ballot: Ballot, learner: Learner, now: number): void {
    while (this.inFlight.size < this.options.window) {
      const again = this.reproposals.pop();
      if (again) {
        // Above a stop-sign nothing of this epoch can be delivered: do not propose it.
        if (this.stoppedAt !== undefined && again.instance > this.stoppedAt) continue;
        // Decided meanwhile (the old leader's 2b votes may still arrive): nothing to re-propose.
        if (learner.isDecided(again.instance)) continue;
        if (stopSignIn(again.batch, learner.membership)) this.stoppedAt = again.instance;
        this.markOrdering(again.batch);
        this.sendAccept(ballot, learner, again.instance, again.batch, now);
        continue;
      }
      if (this.stoppedAt !== undefined) break;
      if (this.stopSign) {
        this.stoppedAt = this.nextToPropose;
        this.sendAccept(ballot, learner, this.nextToPropose++, [this.stopSign], now);
        this.stopSign = undefined;
        continue;
      }
      if (this.queue.length === 0) break;
      this.sendAccept(ballot, learner, this.nextToPropose++, this.cutBatch(), now);
    }
    this.updateGauges();
  }

  /**
   * Our learner crossed the stop-sign (everything we proposed is delivered): the next epoch's
   * phase 1 follows. Values still queued stay queued for it, so clients need not resend them.
   */
  restartEpoch(): void {
    for (const [instance, f] of this.inFlight) this.release(instance, f);
    this.reproposals = [];
    this.stopSign = undefined;
    this.stoppedAt = undefined;
    this.updateGauges();
  }

  /**
   * Resend the 2a of every undecided instance in flight that is stale (`retransmitMs`), or that an
   * instance sent after it has overtaken: that one is decided, so this one's 2a or its votes were
   * most likely lost, and everything behind it waits for it. Recovery resends what is missing
   * at once; a resent instance is overtaken again only by one sent after the resend.
   */
  retransmitStale(ballot: Ballot, learner: Learner, now: number): void {
    // From the top down: the latest send among the decided instances above each one.
    const entries = [...this.inFlight].sort((a, b) => a[0] - b[0]);
    let decidedAboveSentAt = -Infinity;
    for (let k = entries.length - 1; k >= 0; k--) {
      const [instance, f] = entries[k]!;
      if (learner.isDecided(instance)) {
        decidedAboveSentAt = Math.max(decidedAboveSentAt, f.sentAt);
        continue;
      }
      const overtaken = f.sentAt < decidedAboveSentAt;
      if (!overtaken && now - f.sentAt < this.options.retransmitMs) continue;
      f.sentAt = now;
      this.metrics.retransmissions++;
      if (overtaken) this.metrics.overtakenRetransmissions++;
      this.broadcastAccept(ballot, learner, instance, f.batch, now);
    }
  }

  /**
   * Free the window below `delivered`. The log may have jumped past instances we proposed (a trim
   * snapshot from an acceptor): a leader continues proposing above it.
   */
  releaseDelivered(delivered: number, leading: boolean): void {
    if (delivered - this.releasedBelow > this.inFlight.size) {
      for (const [instance, f] of this.inFlight) if (instance < delivered) this.release(instance, f);
    } else {
      for (let instance = this.releasedBelow; instance < delivered; instance++) {
        const f = this.inFlight.get(instance);
        if (f) this.release(instance, f);
      }
    }
    this.releasedBelow = delivered;
    if (leading && this.nextToPropose < delivered) this.nextToPropose = delivered;
  }

  /** Leadership ended: whatever was queued or in flight is the next leader's (clients resend). */
  clear(): void {
    this.inFlight.clear();
    this.reproposals = [];
    this.stopSign = undefined;
    this.stoppedAt = undefined;
    this.queue.drain();
    this.ordering.clear();
    this.registering.clear();
    this.updateGauges();
  }

  private cutBatch(): Batch {
    const { batchMaxValues, batchMaxBytes } = this.options;
    let bytes = 0;
    let count = 0;
    for (let s = this.queue.peek(0); s && count < batchMaxValues; s = this.queue.peek(count)) {
      const size = submissionSize(s);
      if (count > 0 && bytes + size > batchMaxBytes) break;
      bytes += size;
      count++;
    }
    const batch = this.queue.take(count);
    this.metrics.instancesProposed++;
    this.metrics.valuesProposed += batch.length;
    return batch;
  }

  private sendAccept(ballot: Ballot, learner: Learner, instance: number, batch: Batch, now: number): void {
    this.inFlight.set(instance, { batch, sentAt: now });
    this.broadcastAccept(ballot, learner, instance, batch, now);
  }

  private broadcastAccept(ballot: Ballot, learner: Learner, instance: number, batch: Batch, now: number): void {
    const accept = { type: 'accept', ballot, instance, batch } as const;
    this.outbox.send(TO_ACCEPTORS, accept);
    this.outbox.send(TO_LEARNERS, accept);
    this.outbox.send(TO_PROPOSERS, accept);
    learner.handle(accept, now);
  }

  /** A re-proposed batch is in flight again: its values must not be queued a second time. */
  private markOrdering(batch: Batch): void {
    for (const s of batch) {
      if (s.client === REGISTRATION_CLIENT) this.registering.add(s.value as string);
      else this.orderingOf(s.client).add(s.seq);
    }
  }

  private release(instance: number, f: InFlight): void {
    for (const s of f.batch) {
      if (s.client === REGISTRATION_CLIENT) this.registering.delete(s.value as string);
      else this.ordering.get(s.client)?.delete(s.seq);
    }
    this.inFlight.delete(instance);
  }

  private orderingOf(client: number): Set<number> {
    let seqs = this.ordering.get(client);
    if (!seqs) this.ordering.set(client, (seqs = new Set()));
    return seqs;
  }

  private updateGauges(): void {
    this.metrics.queueDepth = this.queue.length;
    this.metrics.inFlight = this.inFlight.size;
  }
}
