/**
 * Positions of recently delivered values per client, so a leader can answer a client whose
 * `committed` ack got lost. Entries are kept in delivery order (nearly seq order) in flat arrays:
 * appending and forgetting from the front are O(1); lookups are linear but happen only for
 * retransmissions of values already delivered, which are rare.
 */
const MAX_PER_CLIENT = 1 << 17;

class ClientPositions {
  seqs: number[] = [];
  positions: number[] = [];
  head = 0;

  add(seq: number, position: number): void {
    this.seqs.push(seq);
    this.positions.push(position);
    if (this.seqs.length - this.head > MAX_PER_CLIENT) this.head++;
    this.compact();
  }

  /** Drop leading entries below `seq` (a straggler behind a kept entry waits for the cap). */
  forgetBelow(seq: number): void {
    while (this.head < this.seqs.length && this.seqs[this.head]! < seq) this.head++;
    this.compact();
  }

  find(seq: number): number | undefined {
    for (let i = this.seqs.length - 1; i >= this.head; i--) if (this.seqs[i] === seq) return this.positions[i];
    return undefined;
  }

  get size(): number {
    return this.seqs.length - this.head;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.positions = this.positions.slice(this.head);
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
