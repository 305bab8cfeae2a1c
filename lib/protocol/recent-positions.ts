/**
 * Positions of recently delivered values per client, so a leader can answer a client whose
 * `committed` ack got lost. A map gives O(1) lookups (a client may resend its whole window at
 * once); a list in delivery order (nearly seq order) lets the oldest go without scanning.
 */
const MAX_PER_CLIENT = 1 << 17;

class ClientPositions {
  /** seq → position, for O(1) lookups. */
  private readonly bySeq = new Map<number, number>();
  /** The same seqs in delivery order, so the oldest can be dropped without scanning the map. */
  private order: number[] = [];
  private head = 0;

  add(seq: number, position: number): void {
    this.bySeq.set(seq, position);
    this.order.push(seq);
    if (this.bySeq.size > MAX_PER_CLIENT) this.dropOldest();
    this.compact();
  }

  /** Drop leading entries below `seq` (a straggler behind a kept entry waits for the cap). */
  forgetBelow(seq: number): void {
    while (this.head < this.order.length && this.order[this.head]! < seq) this.dropOldest();
    this.compact();
  }

  find(seq: number): number | undefined {
    return this.bySeq.get(seq);
  }

  get size(): number {
    return this.bySeq.size;
  }

  private dropOldest(): void {
    this.bySeq.delete(this.order[this.head++]!);
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
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
