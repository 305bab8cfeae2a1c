/**
 * What every role's state machine looks like to a host: feed it messages and clock ticks, then
 * take one `Ready` with everything those steps produced. Nothing here touches I/O, timers or
 * randomness; the host (lib/runtime/role-host.ts) persists, sends and delivers.
 *
 * The shape follows etcd raft's `Ready`: one value per step, the same for every role, with
 * writes that must be durable before the messages that depend on them leave.
 */
import type { AcceptorRecord } from './acceptor-state.js';
import type { Ballot } from './ballot.js';
import type { Destination, Group, Message, Outgoing, Payload } from './messages.js';

/** One value delivered in the total order. */
export interface Delivery {
  /** 0-based index in the delivered sequence; identical at every learner. */
  readonly position: number;
  readonly instance: number;
  readonly client: number;
  readonly seq: number;
  readonly value: Payload;
}

/** Values a learner can never deliver: they were trimmed before it asked for them. */
export interface DeliveryGap {
  /** Instances [fromInstance, toInstance) were skipped. */
  readonly fromInstance: number;
  readonly toInstance: number;
  /** Positions [fromPosition, toPosition) were skipped. */
  readonly fromPosition: number;
  readonly toPosition: number;
}

/**
 * Learners with `stateSnapshots`: the learner continues from a peer's application state (the
 * log below it was trimmed). The application replaces its state with `state`, which holds every
 * value below `position`; deliveries in the same Ready below `position` come before it, the rest
 * after it.
 */
export interface RestoredState {
  readonly instance: number;
  readonly position: number;
  readonly state: Uint8Array;
}

/** A client's value whose place in the order is known. */
export interface Completion {
  readonly seq: number;
  /** 0-based index of the value in the delivered total order; `SESSION_EXPIRED` (-2): unknown outcome. */
  readonly position: number;
}

/** Clients: a read barrier answered (see `Client.barrier`). */
export interface PassedBarrier {
  readonly token: string;
  /** Every value decided before the barrier was asked for has a position below this one. */
  readonly position: number;
}

/** A proposer's leadership, reported when it changes (etcd raft's `SoftState`). */
export interface Leadership {
  readonly leading: boolean;
  readonly ballot: Ballot;
}

/** Everything a role produced since the last `takeReady()`. Fields a role never fills stay empty. */
export interface Ready {
  /** State changes (acceptors that log writes) that must be durable before `messages` leave. */
  readonly writes: readonly AcceptorRecord[];
  /** Messages to send, in order, once `writes` (and every earlier Ready's) are durable. */
  readonly messages: readonly Outgoing[];
  /** Learners: values delivered, in order. */
  readonly deliveries: readonly Delivery[];
  /** Learners: ranges skipped because they were trimmed before this learner got them. */
  readonly gaps: readonly DeliveryGap[];
  /** Clients: values whose position became known. */
  readonly completions: readonly Completion[];
  /** Proposers: present when leadership changed since the last Ready. */
  readonly leadership?: Leadership;
  /** Clients: read barriers answered; present only when there are some. */
  readonly barriers?: readonly PassedBarrier[];
  /** Learners: an application state to restore (see `RestoredState`); present only then. */
  readonly restored?: RestoredState;
}

/** The empty list every unused Ready field holds (shared, never mutated). */
export const NONE: readonly never[] = Object.freeze([]);

/** A Ready with nothing in it: what a step that produced nothing returns (hosts skip it). */
export const EMPTY_READY: Ready = Object.freeze({ writes: NONE, messages: NONE, deliveries: NONE, gaps: NONE, completions: NONE });

/** What a role instance reports to an operator (plain data; only the role's own fields are set). */
export interface RoleStatus {
  /** Proposers: whether it leads now, and its ballot. */
  readonly leading?: boolean;
  readonly ballot?: Ballot;
  /** Learners and proposers: instances delivered; learners: values delivered. */
  readonly instancesDelivered?: number;
  readonly valuesDelivered?: number;
  /** Clients: values submitted and not yet decided. */
  readonly pending?: number;
}

export interface Role {
  readonly group: Group;
  readonly id: number;
  /** Apply one incoming message. `now` is the injected clock in ms. */
  handle(message: Message, now: number): void;
  /** Let time pass: timeouts, retransmissions, heartbeats. */
  tick(now: number): void;
  /** Everything produced since the last call (see `Ready`). */
  takeReady(): Ready;
  /** Live counters (plain numbers, cheap to read). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every counter of the role, flattened: parts it embeds are prefixed (`learner.` in a proposer). */
  counters(): Record<string, number>;
  status(): RoleStatus;
}

/** Collects outgoing messages until the role's next Ready. */
export class Outbox {
  private items: Outgoing[] = [];

  send(to: Destination, message: Message): void {
    this.items.push({ to, message });
  }

  take(): Outgoing[] {
    const taken = this.items;
    this.items = [];
    return taken;
  }

  get size(): number {
    return this.items.length;
  }
}

export const TO_PROPOSERS: Destination = Object.freeze({ group: 'proposers' });
export const TO_ACCEPTORS: Destination = Object.freeze({ group: 'acceptors' });
export const TO_LEARNERS: Destination = Object.freeze({ group: 'learners' });
export const TO_CLIENTS: Destination = Object.freeze({ group: 'clients' });
