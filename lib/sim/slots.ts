/**
 * A slot is one node position of the simulated cluster (`proposers/1`), kept across the crashes
 * and restarts of whatever runs in it: the running role, its incarnation, its stall and, for an
 * acceptor, its virtual disk.
 */
import { type Group, GROUPS } from '../protocol/messages.js';
import type { AcceptorRecord, AcceptorState } from '../protocol/acceptor.js';
import type { Proposer } from '../protocol/proposer.js';
import type { RoleHost } from '../runtime/role-host.js';
import type { NodeClock, Scenario } from './scenario.js';
import type { SimEvent } from './sim-context.js';
import type { SimClient } from './sim-client.js';
import type { AppSlot } from './sim-app.js';
import type { Learner } from '../protocol/learner.js';

export interface Slot extends AppSlot {
  readonly group: Group;
  readonly id: number;
  readonly name: string;
  /** Index in the link matrix. */
  readonly index: number;
  readonly clock: NodeClock;
  /** The running role, hosted as every runtime hosts it; undefined while crashed. */
  host: RoleHost | undefined;
  /** Typed views of the hosted role, for checks only. */
  proposer: Proposer | undefined;
  client: SimClient | undefined;
  /** Learners that keep application state (`Scenario.learnerState`). */
  learner?: Learner | undefined;
  incarnation: number;
  /** How many times this slot has started. */
  boots: number;
  /** Down for good: healing does not restart it. */
  permanent: boolean;
  /** Event loop blocked until then; what arrives meanwhile waits in `backlog`. */
  stalledUntil: number;
  backlog: SimEvent[];
  /** Proposers: instances below this were audited against the chosen values. */
  audited: number;
  /** Acceptors: what the disk holds (survives crashes), writes not yet on it, answers waiting for them. */
  disk?: AcceptorState;
  unsynced?: AcceptorRecord[];
  held?: (() => void)[];
  syncDue?: boolean;
}

/** Every slot of a scenario's shape: in link-matrix order, and by group. */
export class SimNodes {
  readonly all: Slot[] = [];
  private readonly byGroup = new Map<Group, Slot[]>();

  /** Every slot, group by group, none started yet. */
  constructor(scenario: Scenario) {
    for (const group of GROUPS) {
      const members: Slot[] = [];
      for (let id = 0; id < scenario.shape[group]; id++) {
        const name = `${group}/${id}`;
        const slot: Slot = {
          group, id, name, index: this.all.length, clock: scenario.clocks[name] ?? { tickMs: 10, rate: 1, offsetMs: 0 },
          host: undefined, proposer: undefined, client: undefined, incarnation: 0, boots: 0, permanent: false, stalledUntil: 0, backlog: [], audited: 0,
        };
        members.push(slot);
        this.all.push(slot);
      }
      this.byGroup.set(group, members);
    }
  }

  group(group: Group): Slot[] {
    return this.byGroup.get(group)!;
  }

  slot(group: Group, id: number): Slot | undefined {
    return this.byGroup.get(group)?.[id];
  }
}

/** What `slot` reads on its own clock at virtual time `now`: drifting, offset, but monotonic. */
export function localNow(slot: Slot, now: number): number {
  return slot.clock.offsetMs + slot.clock.rate * now;
}

export function isStalled(slot: Slot, now: number): boolean {
  return slot.host !== undefined && now < slot.stalledUntil;
}

/** The node goes down: whatever had not reached the disk is gone, and so are the answers that waited for it. */
export function crashSlot(slot: Slot): void {
  slot.host = undefined;
  slot.proposer = undefined;
  slot.client = undefined;
  slot.learner = undefined;
  slot.backlog = [];
  slot.stalledUntil = 0;
}
