/**
 * An acceptor's virtual disk with group commit: a step's answers wait until its writes (and all
 * before them) are on disk, `fsyncMs` later; with sync `none` they leave at once. What reached
 * the disk survives a crash; unsynced writes and the answers held for them do not.
 */
import { EMPTY_ACCEPTOR_STATE, applyAcceptorRecords } from '../protocol/acceptor.js';
import type { Message } from '../protocol/messages.js';
import type { HostStorage } from '../runtime/role-host.js';
import type { SimContext } from './sim-context.js';
import type { Slot } from './slots.js';

export class AcceptorDisks {
  constructor(private readonly ctx: SimContext) {}

  /** A fresh start of the acceptor in `slot`: nothing unsynced, nothing held (the disk stays). */
  storageOf(slot: Slot): HostStorage {
    slot.unsynced = [];
    slot.held = [];
    slot.syncDue = false;
    return {
      persist: (writes, released) => {
        const ctx = this.ctx;
        for (const w of writes) if (w.kind === 'accept') ctx.checker.accepting(w.instance, w.ballot, w.batch);
        const { sync, fsyncMs } = ctx.scenario.acceptorStorage;
        slot.unsynced!.push(...writes);
        if (sync === 'none' || (slot.unsynced!.length === 0 && slot.held!.length === 0)) released();
        else slot.held!.push(released);
        if (slot.unsynced!.length && !slot.syncDue) {
          slot.syncDue = true;
          ctx.queue.push({ time: ctx.now + fsyncMs, kind: 'sync', slot, incarnation: slot.incarnation });
        }
      },
    };
  }

  /** The fsync finished: the writes are on disk, and the answers that waited for them leave. */
  sync(slot: Slot, incarnation: number): void {
    if (!slot.host || slot.incarnation !== incarnation) return; // crashed before the fsync finished
    for (const w of slot.unsynced!) if (w.kind !== 'trim') this.ctx.checker.acceptorSynced(slot.name, `${w.kind}`, w.ballot);
    slot.disk = applyAcceptorRecords(slot.disk ?? EMPTY_ACCEPTOR_STATE, slot.unsynced!);
    slot.unsynced = [];
    slot.syncDue = false;
    const held = slot.held!;
    slot.held = [];
    for (const release of held) release();
  }

  /** What an acceptor says leaves it now: check it against everything it said and wrote before. */
  observeAnswer(from: Slot, m: Message): void {
    const checker = this.ctx.checker;
    if (m.type === 'promise') checker.acceptorSent(from.name, 'promised', m.ballot);
    else if (m.type === 'accepted') {
      checker.acceptorSent(from.name, 'accepted', m.ballot);
      checker.vote(m.instance, m.ballot, m.acceptor);
    }
  }
}
