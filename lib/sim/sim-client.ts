/**
 * THE ONE PLACE where the simulator creates a protocol `Client` and learns which identity
 * (client key, seq) a submission got, and which submission a completion belongs to.
 *
 * When the Client API changes (a client registers a session and learns its key later, via
 * 'register'/'registered'), adapt this file only: construct the client the new way in the
 * constructor, and report identities from `submit` / `takeCompletions` once the key is known
 * (e.g. buffer submissions until registered, and report them to the checker then). Nothing else
 * in the simulator reads `Client` fields.
 */
import { nodeKey } from '../protocol/ballot.js';
import { Client } from '../protocol/client.js';
import type { Payload } from '../protocol/messages.js';
import type { ResolvedOptions } from '../protocol/options.js';

export interface Identity {
  readonly client: number;
  readonly seq: number;
}

export class SimClient {
  readonly node: Client;

  /** `incarnation` is this client process's lifetime id (drawn by the simulation). */
  constructor(id: number, incarnation: number, options: ResolvedOptions) {
    this.node = new Client(id, nodeKey(id, incarnation), options);
  }

  /** Submit a value; the identity the checker records for it. */
  submit(value: Payload, now: number): Identity {
    const seq = this.node.submit(value, now);
    return { client: this.node.key, seq };
  }

  /** Completions since the last call, with the identity they complete. */
  takeCompletions(): (Identity & { position: number })[] {
    return this.node.takeCompletions().map((c) => ({ client: this.node.key, seq: c.seq, position: c.position }));
  }

  /** Values submitted and not yet reported committed. */
  get pending(): number {
    return this.node.pendingCount;
  }
}
