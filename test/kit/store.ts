/** Looking at an acceptor's data directory from a test. */
import type { AcceptorState } from '../../lib/protocol/acceptor-state.js';
import { openAcceptorStore } from '../../lib/storage/index.js';

/** What a restart would recover from `dir` right now: opens a second store on it and closes it (the store itself takes no lock). */
export async function onDisk(dir: string): Promise<AcceptorState> {
  const s = await openAcceptorStore(dir, { sync: 'none' });
  const state = s.recovered;
  await s.close();
  return state;
}
