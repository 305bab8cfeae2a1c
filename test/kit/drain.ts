/**
 * Unit tests read one part of a role's output at a time (its messages now, its deliveries
 * later). Each reader here takes the role's Ready, keeps the parts it was not asked for until
 * they are, and returns (and forgets) the part asked for.
 */
import type { AcceptorRecord } from '../../lib/protocol/acceptor-state.js';
import type { Outgoing } from '../../lib/protocol/messages.js';
import type { Completion, Delivery, DeliveryGap, Leadership, PassedBarrier, RestoredState, Role } from '../../lib/protocol/role.js';

interface Held {
  messages: Outgoing[];
  writes: AcceptorRecord[];
  deliveries: Delivery[];
  gaps: DeliveryGap[];
  completions: Completion[];
  leadership: Leadership[];
  barriers: PassedBarrier[];
  restored: RestoredState[];
}

const held = new WeakMap<Role, Held>();

function absorb(role: Role): Held {
  let h = held.get(role);
  if (!h) held.set(role, (h = { messages: [], writes: [], deliveries: [], gaps: [], completions: [], leadership: [], barriers: [], restored: [] }));
  const r = role.takeReady();
  h.messages.push(...r.messages);
  h.writes.push(...r.writes);
  h.deliveries.push(...r.deliveries);
  h.gaps.push(...r.gaps);
  h.completions.push(...r.completions);
  if (r.leadership) h.leadership.push(r.leadership);
  if (r.barriers) h.barriers.push(...r.barriers);
  if (r.restored) h.restored.push(r.restored);
  return h;
}

function take<K extends keyof Held>(role: Role, part: K): Held[K] {
  const h = absorb(role);
  const taken = h[part];
  h[part] = [] as unknown as Held[K];
  return taken;
}

export const outgoing = (role: Role): Outgoing[] => take(role, 'messages');
export const writes = (role: Role): AcceptorRecord[] => take(role, 'writes');
export const deliveries = (role: Role): Delivery[] => take(role, 'deliveries');
export const gaps = (role: Role): DeliveryGap[] => take(role, 'gaps');
export const completions = (role: Role): Completion[] => take(role, 'completions');
export const leadershipChanges = (role: Role): Leadership[] => take(role, 'leadership');
export const passedBarriers = (role: Role): PassedBarrier[] => take(role, 'barriers');
export const restoredStates = (role: Role): RestoredState[] => take(role, 'restored');
