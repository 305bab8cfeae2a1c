/**
 * What every part of one simulated run shares: the scenario, the seed's one stream of randomness
 * (every draw from it, in order, is what makes a seed reproducible), virtual time, the event
 * queue, the invariant checker and the event history.
 */
import type { Message, Payload } from '../protocol/messages.js';
import type { ResolvedOptions } from '../protocol/options.js';
import { EventQueue } from './event-queue.js';
import type { InvariantChecker } from './invariants.js';
import type { Rng } from './rng.js';
import type { Fault, Scenario } from './scenario.js';
import type { Slot } from './slots.js';
import type { EventHistory, HistoryEntry } from './trace.js';

export type SimEvent =
  | { time: number; order: number; kind: 'deliver'; to: Slot; from: Slot; message: Message }
  | { time: number; order: number; kind: 'tick'; slot: Slot }
  | { time: number; order: number; kind: 'submit'; slot: Slot; value: Payload }
  | { time: number; order: number; kind: 'barrier'; slot: Slot }
  | { time: number; order: number; kind: 'transfer'; pick: number }
  | { time: number; order: number; kind: 'reconfigure' }
  | { time: number; order: number; kind: 'fault-start'; fault: Fault }
  | { time: number; order: number; kind: 'fault-end'; fault: Fault }
  | { time: number; order: number; kind: 'restart'; slot: Slot }
  | { time: number; order: number; kind: 'unstall'; slot: Slot; incarnation: number }
  | { time: number; order: number; kind: 'heal' }
  | { time: number; order: number; kind: 'sync'; slot: Slot; incarnation: number }
  | { time: number; order: number; kind: 'check-liveness' };

export class SimContext {
  readonly queue = new EventQueue<SimEvent>();
  /** Virtual time: that of the event being handled. */
  now = 0;
  /** Past `healAtMs`: no loss, no cut link but the permanent ones, a timely network. */
  healed = false;

  constructor(
    readonly scenario: Scenario,
    readonly options: ResolvedOptions,
    readonly rng: Rng,
    readonly checker: InvariantChecker,
    private readonly history: EventHistory,
  ) {}

  remember(entry: HistoryEntry): void {
    this.history.remember(entry);
  }
}
