/**
 * Positions of recently delivered values per client, so a leader can answer a client whose
 * `committed` ack got lost. A map gives O(1) lookups (a client may resend its whole window at
 * once); a list in delivery order (nearly seq order) lets the oldest go without scanning.
 */
import { Fifo } from './fifo.js';

const MAX_PER_CLIENT = 1 << 17;

class ClientPositions {
  /** seq → position, for O(1) lookups. */
  private readonly bySeq = new Map<number, number>();
  /** The same seqs in delivery order, so the oldest can be dropped without scanning the map. */
  private readonly order = new Fifo<number>();

  add(seq: number, position: number): void {
    this.bySeq.set(seq, position);
    this.order.push(seq);
    if (this.bySeq.size > MAX_PER_CLIENT) this.dropOldest();
  }

  /** Drop leading entries below `seq` (a straggler behind a kept entry waits for the cap). */
  forgetBelow(seq: number): void {
    while (this.order.length && this.order.peek()! < seq) this.dropOldest();
  }

  find(seq: number): number | undefined {
    return this.bySeq.get(seq);
  }

  get size(): number {
    return this.bySeq.size;
  }

  private dropOldest(): void {
    this.bySeq.delete(this.order.shift()!);
  }

}

export class RecentPositions {
  private readonly clients = new Map<number, ClientPositions>();

  add(client: number, seq: number, position: number): void {
    let c = this.clients.get(client);
    if (!c) this.clients.set(client, (c = new ClientPositions()));
    c.add(seq, position);
  }

  forgetBelow(client: number, seq: number): void {
    const c = this.clients.get(client);
    if (!c) return;
    c.forgetBelow(seq);
    if (c.size === 0) this.clients.delete(client);
  }

  find(client: number, seq: number): number | undefined {
    return this.clients.get(client)?.find(seq);
  }
}
