/**
 * A learner's application state as one byte string: where delivery stood (the instance, the
 * position and the exactly-once filter, a `DeliverySnapshot`) and the application's own bytes at
 * exactly that point. It is what a learner holds, persists, and sends a peer in chunks, so a
 * restored learner continues with the right positions and never delivers a value twice.
 *
 * Layout: u32 count (big-endian), then `count` float64 numbers (instance, position, nextClient,
 * marks; per mark client, low, active, above length, above...; then, if the delivery carries a
 * membership, its epoch, acceptors, phase1Quorum, phase2Quorum), then the application's bytes.
 * Plain ECMAScript (DataView), no Node API: the core stays portable.
 */
import type { ClientMark, DeliverySnapshot } from './messages.js';

export interface LearnerState {
  readonly delivery: DeliverySnapshot;
  readonly app: Uint8Array;
}

export function encodeState(state: LearnerState): Uint8Array {
  const numbers: number[] = [state.delivery.instance, state.delivery.position, state.delivery.nextClient, state.delivery.clients.length];
  for (const m of state.delivery.clients) numbers.push(m.client, m.low, m.active, m.above.length, ...m.above);
  const ms = state.delivery.membership;
  if (ms) numbers.push(ms.epoch, ms.acceptors, ms.phase1Quorum, ms.phase2Quorum);
  const head = 4 + numbers.length * 8;
  const blob = new Uint8Array(head + state.app.byteLength);
  const view = new DataView(blob.buffer);
  view.setUint32(0, numbers.length);
  for (let i = 0; i < numbers.length; i++) view.setFloat64(4 + i * 8, numbers[i]!);
  blob.set(state.app, head);
  return blob;
}

/** The state in `blob`, or undefined if it is not one `encodeState` made. */
export function decodeState(blob: Uint8Array): LearnerState | undefined {
  if (blob.byteLength < 4) return undefined;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const count = view.getUint32(0);
  const head = 4 + count * 8;
  if (count < 4 || head > blob.byteLength) return undefined;
  let at = 0;
  const next = (): number => {
    if (at >= count) throw new RangeError('state blob: marks run past the header');
    return view.getFloat64(4 + 8 * at++);
  };
  try {
    const [instance, position, nextClient, marks] = [next(), next(), next(), next()];
    const clients: ClientMark[] = [];
    for (let k = 0; k < marks; k++) {
      const [client, low, active, n] = [next(), next(), next(), next()];
      const above: number[] = [];
      for (let j = 0; j < n; j++) above.push(next());
      clients.push({ client, low, above, active });
    }
    const membership = at === count - 4 ? { epoch: next(), acceptors: next(), phase1Quorum: next(), phase2Quorum: next() } : undefined;
    if (at !== count || ![instance, position, nextClient].every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
    if (membership && !Object.values(membership).every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
    const delivery: DeliverySnapshot = membership ? { instance, position, nextClient, clients, membership } : { instance, position, nextClient, clients };
    return { delivery, app: blob.slice(head) };
  } catch {
    return undefined;
  }
}
