/** How a learner is set up, and what it tells whoever embeds it (a proposer) of client sessions. */
import type { Group } from './messages.js';

/** A client session opened by the log: the client that drew `nonce` submits as `client`. */
export interface Registration {
  readonly nonce: string;
  readonly client: number;
}

/** A decided value refused because its session had been retired (see `DeliveryFilter`). */
export interface Refusal {
  readonly client: number;
  readonly seq: number;
}

export interface LearnerSettings {
  /** The group this learner answers as (proposers embed one). Default 'learners'. */
  group?: Group;
  /** Keep every decided batch so it can be served to others. Default false. */
  retainLog?: boolean;
  /**
   * Told of every session opened and every value refused as delivery reaches them (a proposer's
   * learner: the leader answers clients). Called in delivery order, during the step. Best an
   * object holding its own state (as `ClientDesk` does) rather than closures over its owner: the
   * explorer deep-clones roles, and a cloned closure still points at the original owner.
   */
  sessions?: SessionListener;
}

/** What an embedding proposer hears of sessions from its learner. */
export interface SessionListener {
  registered(registration: Registration): void;
  refused(refusal: Refusal): void;
}
