/**
 * The one place a role instance is made for hosting: the cluster's workers and the `paxos` CLI
 * both build their members here, so a member is the same object whichever runtime hosts it.
 * Runtimes supply what the sans-IO core must not reach for itself: incarnations and nonces
 * (randomness), a data directory, and what to do when storage fails.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Acceptor, type AcceptorState } from '../protocol/acceptor.js';
import { INCARNATION_SPACE } from '../protocol/ballot.js';
import { Client } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import type { Group } from '../protocol/messages.js';
import type { ResolvedOptions } from '../protocol/options.js';
import { Proposer } from '../protocol/proposer.js';
import type { SyncPolicy } from '../storage/types.js';
import { StateFile, readStateFile } from '../storage/state-file.js';
import { type DurableAcceptor, openDurableAcceptor } from './durable-acceptor.js';
import type { Hosted } from './role-host.js';

/** One role instance to build, as plain data (it crosses to worker threads). */
export interface RoleSpec {
  readonly group: Group;
  readonly id: number;
  /** Proposer ballots: unique per life. Default: drawn at random. */
  readonly incarnation?: number;
  /** Acceptors with a data directory: persist there before answering, recover from it. */
  readonly durable?: { readonly dir: string; readonly sync: SyncPolicy };
  /** In-memory acceptors: the state to restart with (crash-stop with stable storage). */
  readonly restored?: AcceptorState;
  /** Learners with `stateSnapshots` and a data directory: where the newest application state is kept. */
  readonly stateFile?: string;
}

/** A built member: what `RoleHost` hosts, plus its durable acceptor's directory (to close on shutdown). */
export interface BuiltRole extends Hosted {
  readonly durable?: DurableAcceptor;
  /** A learner's state file, to write each new state to (`Learner.heldState`). */
  readonly stateFile?: StateFile;
}

/**
 * Build `spec`. A durable acceptor recovers from its directory first (a corrupt log or a directory
 * held by a live acceptor reject); once it runs, a storage failure calls `storageFailed`, which must
 * make sure the acceptor never answers again (halt the host, or exit).
 */
export async function buildRole(spec: RoleSpec, options: ResolvedOptions, storageFailed: (error: Error) => void): Promise<BuiltRole> {
  const { group, id } = spec;
  switch (group) {
    case 'proposers':
      return { role: new Proposer(id, options, { incarnation: spec.incarnation ?? randomInt(0, INCARNATION_SPACE), random: Math.random }) };
    case 'acceptors': {
      if (!spec.durable) return { role: new Acceptor(id, options, spec.restored) };
      const durable = await openDurableAcceptor(id, options, spec.durable.dir, spec.durable.sync);
      return { role: durable.acceptor, storage: durable.storage((err) => storageFailed(err as Error)), durable };
    }
    case 'learners': {
      const learner = new Learner(id, options);
      if (!spec.stateFile || !options.stateSnapshots) return { role: learner };
      // A state that does not load (not one a learner wrote) is ignored: the learner fetches one from a peer.
      const saved = await readStateFile(spec.stateFile);
      if (saved) learner.loadState(saved);
      return { role: learner, stateFile: new StateFile(spec.stateFile, storageFailed) };
    }
    case 'clients':
      return { role: new Client(id, options, { nonce: () => randomBytes(16).toString('hex') }) };
  }
}
