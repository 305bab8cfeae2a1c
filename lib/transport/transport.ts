/**
 * The one interface between protocol runtimes and whatever moves messages: the in-process bus,
 * UDP multicast, or the simulator's network. A transport only moves messages between groups and
 * members; it knows nothing of Paxos.
 *
 * Semantics every transport keeps (the protocol tolerates anything weaker than this):
 * - a message to a group reaches every member of that group, the sender included;
 * - a message to one member reaches that member only;
 * - delivery is best effort: messages may be lost, duplicated, reordered or delayed.
 */
import type { Destination, Group, Message, Outgoing } from '../protocol/messages.js';

/** One role instance's address. */
export interface Endpoint {
  readonly group: Group;
  readonly id: number;
}

export interface Transport {
  /**
   * Start receiving what is addressed to any of `members` (one process or worker may host several
   * role instances over one transport). `deliver` is called once per member a message is for:
   * a message to a group reaches each hosted member of that group.
   */
  start(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void> | void;
  /** Send messages as `from` (a started member). A transport may coalesce messages to one destination into one frame. */
  send(from: Endpoint, messages: readonly Outgoing[]): void;
  /** Stop receiving and release sockets, ports and timers. */
  close(): Promise<void> | void;
  /** Transport counters (frames, bytes, drops), if it keeps any. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** Whether a message to `to` is for `member`. */
export function addresses(to: Destination, member: Endpoint): boolean {
  return to.group === member.group && (to.member === undefined || to.member === member.id);
}
