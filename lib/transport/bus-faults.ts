/**
 * Network faults for the in-process bus, with the simulator's meaning (see `lib/sim`): every copy
 * of a message on its way to one receiver is independently lost with probability `loss`, else
 * delivered twice with probability `duplicate`, each copy after `delayMs` plus a uniformly random
 * `0..jitterMs` (jitter reorders); a partition drops everything between `partition` and the rest.
 *
 * Faults are applied by the receiving side of the bus, which knows the sender from the channel a
 * frame arrived on.
 */
import type { Group } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { ConfigurationError } from '../protocol/options.js';

/** One member of the cluster, as the bus and the simulator name it. */
export interface BusMember {
  readonly group: Group;
  readonly id: number;
}

/** Bus-level fault injection. All fields optional; an empty object means a perfect network. */
export interface FaultSettings {
  /** Probability (0..1) that a message copy to one receiver is dropped. Default 0. */
  loss?: number;
  /** Probability (0..1) that a message copy that survived is delivered twice. Default 0. */
  duplicate?: number;
  /** Fixed extra latency in ms added to every message between two different members. Default 0. */
  delayMs?: number;
  /** Plus a uniformly random extra latency up to this many ms, which also reorders. Default 0. */
  jitterMs?: number;
  /**
   * One side of a network partition: members listed here hear only each other, the rest only the
   * rest. Omitted or empty: no partition.
   */
  partition?: readonly BusMember[];
}

/** Validated fault settings. */
export interface ResolvedFaults {
  readonly loss: number;
  readonly duplicate: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly partition: readonly BusMember[];
}

export const NO_FAULTS: ResolvedFaults = Object.freeze({ loss: 0, duplicate: 0, delayMs: 0, jitterMs: 0, partition: Object.freeze([]) });

function probability(name: string, x: unknown): number {
  if (x === undefined) return 0;
  if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new ConfigurationError(`faults.${name} must be a number from 0 to 1, got ${String(x)}`);
  return x;
}

function duration(name: string, x: unknown): number {
  if (x === undefined) return 0;
  if (typeof x !== 'number' || !(x >= 0 && x <= 60_000)) throw new ConfigurationError(`faults.${name} must be a number of ms from 0 to 60000, got ${String(x)}`);
  return x;
}

/** Check fault settings; throws `ConfigurationError` for anything out of range. */
export function resolveFaults(f: FaultSettings | undefined): ResolvedFaults {
  if (f === undefined) return NO_FAULTS;
  if (typeof f !== 'object' || f === null) throw new ConfigurationError('faults must be an object');
  const partition = f.partition ?? [];
  if (!Array.isArray(partition)) throw new ConfigurationError('faults.partition must be an array of { group, id }');
  for (const m of partition) {
    if (typeof m !== 'object' || m === null || !(GROUPS as readonly string[]).includes(m.group) || !Number.isSafeInteger(m.id) || m.id < 0) {
      throw new ConfigurationError(`faults.partition has an invalid member ${JSON.stringify(m)}; expected { group: 'acceptors', id: 0 }`);
    }
  }
  return {
    loss: probability('loss', f.loss),
    duplicate: probability('duplicate', f.duplicate),
    delayMs: duration('delayMs', f.delayMs),
    jitterMs: duration('jitterMs', f.jitterMs),
    partition: partition.map((m) => ({ group: m.group, id: m.id })),
  };
}

/** True when settings change nothing, so the bus can take its fast path. */
export function isPerfect(f: ResolvedFaults): boolean {
  return f.loss === 0 && f.duplicate === 0 && f.delayMs === 0 && f.jitterMs === 0 && f.partition.length === 0;
}

const memberKey = (m: BusMember) => `${m.group}/${m.id}`;

/**
 * Applies fault settings to messages arriving at one member. `deliver` is called zero, one or two
 * times per message, possibly later (timers are cleared by `close`).
 */
export class FaultInjector<T> {
  private settings: ResolvedFaults = NO_FAULTS;
  private side = new Set<string>();
  private perfect = true;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  readonly counters = { lost: 0, duplicated: 0, delayed: 0, partitioned: 0 };

  constructor(private readonly self: BusMember, private readonly deliver: (item: T) => void, private readonly random: () => number = Math.random) {}

  set(settings: ResolvedFaults): void {
    this.settings = settings;
    this.side = new Set(settings.partition.map(memberKey));
    this.perfect = isPerfect(settings);
  }

  get current(): ResolvedFaults {
    return this.settings;
  }

  /** Whether the partition separates `from` and this member. */
  cut(from: BusMember): boolean {
    return this.side.size > 0 && this.side.has(memberKey(from)) !== this.side.has(memberKey(this.self));
  }

  /** Pass `items` from `from` through the faults. */
  receive(from: BusMember, items: readonly T[]): void {
    if (this.closed) return;
    if (this.perfect) {
      for (const item of items) this.deliver(item);
      return;
    }
    if (this.cut(from)) {
      this.counters.partitioned += items.length;
      return;
    }
    const { loss, duplicate, delayMs, jitterMs } = this.settings;
    const local = from.group === this.self.group && from.id === this.self.id;
    for (const item of items) {
      if (loss > 0 && this.random() < loss) {
        this.counters.lost++;
        continue;
      }
      const copies = duplicate > 0 && this.random() < duplicate ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      for (let c = 0; c < copies; c++) {
        const delay = local ? 0 : delayMs + (jitterMs > 0 ? this.random() * jitterMs : 0);
        if (delay <= 0) {
          this.deliver(item);
          continue;
        }
        this.counters.delayed++;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!this.closed) this.deliver(item);
        }, delay);
        this.timers.add(timer);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
