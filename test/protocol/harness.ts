/** Small helpers to drive single role state machines by hand in unit tests. */
import type { Batch, Message, Outgoing, Submission } from '../../lib/protocol/messages.js';
import { type ProtocolOptions, type ResolvedOptions, resolveOptions } from '../../lib/protocol/options.js';

export function options(extra: Partial<ProtocolOptions> = {}): ResolvedOptions {
  return resolveOptions({ proposers: 2, acceptors: 3, ...extra });
}

/** Ballots come from the shared test kit (here too, for the tests that import them with the rest). */
export { ballot } from '../kit/ballot.js';

export const value = (client: number, seq: number, v = `v${client}.${seq}`): Submission => ({ client, seq, value: v });

export const batchOf = (...values: Submission[]): Batch => values;

export function ofType<T extends Message['type']>(out: Outgoing[], type: T): Extract<Message, { type: T }>[] {
  return out.map((o) => o.message).filter((m): m is Extract<Message, { type: T }> => m.type === type);
}
