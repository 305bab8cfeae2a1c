/**
 * A first-in first-out queue over one array: push at the back, take from the front, both O(1)
 * amortized. The consumed front is cut away once it outweighs what is left, so memory follows
 * the queue's length, not its history. The one FIFO of the code base.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `i` places from the front (0: the front), without taking it. */
  peek(i = 0): T | undefined {
    return i < this.length ? this.items[this.head + i] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as never; // let it be collected
    this.compact();
    return item;
  }

  /** Take the `n` front items (fewer if shorter), in order. */
  take(n: number): T[] {
    const taken = this.items.slice(this.head, this.head + n);
    this.head += taken.length;
    this.compact();
    return taken;
  }

  /** Empty it; returns what it held, in order. */
  drain(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
