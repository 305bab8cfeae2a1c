/**
 * A leader orders everyone to forget the instances that every learner and every live proposer
 * has delivered (minus a margin), at a checkpoint so that a latecomer can continue from there.
 * A crashed proposer is not waited for: when it returns it continues from the trim snapshot.
 * With `stateSnapshots`, the trim point also stays at or below every gating learner's newest
 * application state, so a learner that finds the log trimmed can always fetch a state that
 * covers what it lacks from a peer (see StateTransfer).
 */
import type { Learner } from './learner.js';
import type { ProposerLiveness } from './leader-election.js';
import type { ResolvedOptions } from './options.js';
import { type Outbox, TO_ACCEPTORS, TO_PROPOSERS } from './role.js';
import { splitSnapshot, wholePart } from './snapshot-parts.js';

export class LogTrimmer {
  /** Latest delivered point each learner reported (trimming waits for the slowest). */
  private readonly learnerProgress: number[];
  /** Instance of the newest application state each learner reported holding (`stateSnapshots`). */
  private readonly learnerStates: number[];
  /** Latest delivered point each proposer announced in its heartbeats. */
  private readonly proposerProgress: number[];
  /** The highest trim point ordered so far: a trim is ordered once. */
  private lastTrimOrdered = 0;

  constructor(
    private readonly id: number, private readonly options: ResolvedOptions, private readonly outbox: Outbox,
    private readonly metrics: { trims: number },
  ) {
    this.learnerProgress = new Array<number>(options.trimAfterLearners).fill(0);
    this.learnerStates = new Array<number>(options.trimAfterLearners).fill(0);
    this.proposerProgress = new Array<number>(options.proposers).fill(0);
  }

  noteLearnerProgress(learner: number, delivered: number, stateAt: number): void {
    if (learner >= this.learnerProgress.length) return;
    this.learnerProgress[learner] = delivered;
    this.learnerStates[learner] = stateAt;
  }

  noteProposerProgress(proposer: number, delivered: number): void {
    if (proposer < this.options.proposers) this.proposerProgress[proposer] = delivered;
  }

  /** How far `proposer` said (in its last heartbeat) it has delivered. */
  proposerDelivered(proposer: number): number {
    return this.proposerProgress[proposer] ?? 0;
  }

  /** `learner`: the proposer's own, which holds the checkpoints and trims first. */
  maybeTrim(now: number, learner: Learner, proposers: ProposerLiveness): void {
    if (this.options.trimAfterLearners === 0) return;
    let below = learner.delivered;
    for (const p of this.learnerProgress) below = Math.min(below, p);
    if (this.options.stateSnapshots) for (const s of this.learnerStates) below = Math.min(below, s + this.options.trimKeepInstances);
    for (let id = 0; id < this.options.proposers; id++) {
      if (id !== this.id && proposers.heardRecently(id, now)) below = Math.min(below, this.proposerProgress[id]!);
    }
    const checkpoint = learner.checkpointAtOrBelow(below - this.options.trimKeepInstances);
    if (!checkpoint || checkpoint.instance <= this.lastTrimOrdered) return;
    this.lastTrimOrdered = checkpoint.instance;
    this.metrics.trims++;
    for (const part of splitSnapshot(checkpoint, this.options.batchMaxBytes)) {
      const trim = { type: 'trim', snapshot: part } as const;
      this.outbox.send(TO_ACCEPTORS, trim);
      this.outbox.send(TO_PROPOSERS, trim);
    }
    learner.handle({ type: 'trim', snapshot: wholePart(checkpoint) }, now);
  }
}
