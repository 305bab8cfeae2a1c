/** A binary min-heap of timed events; ties break by insertion order, so runs are reproducible. */
export interface Timed {
  time: number;
  order: number;
}

/** `Omit` that keeps a union a union. */
export type WithoutOrder<T> = T extends unknown ? Omit<T, 'order'> : never;

export class EventQueue<T extends Timed> {
  private readonly heap: T[] = [];
  private counter = 0;

  push(event: WithoutOrder<T>): void {
    const e = event as unknown as T;
    e.order = this.counter++;
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  get size(): number {
    return this.heap.length;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}
