/**
 * What every role's state machine looks like to a runtime: feed it messages and clock ticks,
 * then drain what it wants sent. Nothing here touches I/O, timers or randomness.
 */
import type { Destination, Group, Message, Outgoing } from './messages.js';

export interface ProtocolNode {
  readonly group: Group;
  readonly id: number;
  /** Apply one incoming message. `now` is the injected clock in ms. */
  handle(message: Message, now: number): void;
  /** Let time pass: timeouts, retransmissions, heartbeats. */
  tick(now: number): void;
  /** Messages produced since the last call, in order. */
  takeOutgoing(): Outgoing[];
  /** Counters for observability (plain numbers, cheap to copy). */
  readonly metrics: Readonly<Record<string, number>>;
}

/** Collects outgoing messages until the runtime drains them. */
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
