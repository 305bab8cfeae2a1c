/**
 * Positions of recently delivered values per client, so a leader can answer a client whose
 * `committed` ack got lost. A client's seqs are consecutive and delivered nearly in order, so they
 * live in a ring indexed by seq (each slot tagged with its seq): O(1) to add, find and forget,
 * with no hash-table churn (a `Map` per value was the busiest code of a follower proposer).
 * The ring grows by doubling up to the cap, so an idle client costs a few KiB.
 */
/** At most this many seqs per client are remembered: the newest ones. */
const MAX_PER_CLIENT = 1 << 17;
const INITIAL_SLOTS = 1 << 10;

class ClientPositions {
  /** The seq each slot holds (-1: none), and its position. */
  private seqs = new Float64Array(INITIAL_SLOTS).fill(-1);
  private positions = new Float64Array(INITIAL_SLOTS);
  /** Seqs below this are forgotten. */
  private base = 0;
  /** The highest seq added. */
  private top = -1;

  add(seq: number, position: number): void {
    if (seq < this.base) return; // the client has confirmed it has this one: never asked again
    if (seq > this.top) {
      if (seq - this.base >= this.seqs.length) this.grow(seq);
      this.top = seq;
    }
    const slot = seq & (this.seqs.length - 1);
    this.seqs[slot] = seq;
    this.positions[slot] = position;
  }

  /** Forget every seq below `seq`. */
  forgetBelow(seq: number): void {
    if (seq > this.base) this.base = seq;
  }

  find(seq: number): number | undefined {
    if (seq < this.base || seq > this.top) return undefined;
    const slot = seq & (this.seqs.length - 1);
    return this.seqs[slot] === seq ? this.positions[slot] : undefined;
  }

  /** Nothing is remembered any more. */
  get empty(): boolean {
    return this.top < this.base;
  }

  /** Make room up to `seq`: double the ring up to the cap, then let the oldest seqs go. */
  private grow(seq: number): void {
    let slots = this.seqs.length;
    while (seq - this.base >= slots && slots < MAX_PER_CLIENT) slots *= 2;
    if (seq - this.base >= slots) this.base = seq - slots + 1;
    if (slots === this.seqs.length) return;
    const seqs = new Float64Array(slots).fill(-1);
    const positions = new Float64Array(slots);
    for (let s = Math.max(this.base, this.top - this.seqs.length + 1); s <= this.top; s++) {
      const old = s & (this.seqs.length - 1);
      if (this.seqs[old] !== s) continue;
      seqs[s & (slots - 1)] = s;
      positions[s & (slots - 1)] = this.positions[old]!;
    }
    this.seqs = seqs;
    this.positions = positions;
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
    if (c.empty) this.clients.delete(client);
  }

  find(client: number, seq: number): number | undefined {
    return this.clients.get(client)?.find(seq);
  }
}
