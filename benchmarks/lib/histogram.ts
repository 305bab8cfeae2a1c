/**
 * A high-dynamic-range latency histogram (the HdrHistogram layout, reduced to what benchmarks
 * need): values are bucketed by power of two, each power split into 2^precisionBits linear
 * sub-buckets, so every recorded value keeps ~3 significant digits from 1 µs to an hour in a few
 * KiB, with O(1) recording and no allocation on the hot path.
 */
export class LatencyHistogram {
  private readonly subBits: number;
  private readonly counts: Float64Array;
  private total = 0;
  private maxValue = 0;
  private minValue = Infinity;

  constructor(precisionBits = 10, private readonly highestMicros = 3_600_000_000) {
    this.subBits = precisionBits;
    this.counts = new Float64Array((Math.ceil(Math.log2(highestMicros)) + 1) << precisionBits);
  }

  /** Record one latency in microseconds. */
  record(micros: number): void {
    const v = Math.max(0, Math.min(Math.round(micros), this.highestMicros));
    this.counts[this.indexOf(v)]!++;
    this.total++;
    if (v > this.maxValue) this.maxValue = v;
    if (v < this.minValue) this.minValue = v;
  }

  get count(): number {
    return this.total;
  }

  /** The value at percentile p (0..100), accurate to the bucket's resolution. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.valueAt(i), this.maxValue);
    }
    return this.maxValue;
  }

  get max(): number {
    return this.maxValue;
  }

  get min(): number {
    return this.total ? this.minValue : 0;
  }

  /**
   * Below 2^bits a value is its own bucket; above, it is shifted right by e so that it lands in
   * [2^(bits-1), 2^bits), and bucket e·2^bits + (v >> e) keeps bits-1 significant bits.
   */
  private indexOf(v: number): number {
    if (v < 1 << this.subBits) return v;
    const e = Math.floor(Math.log2(v)) - this.subBits + 1;
    return e * (1 << this.subBits) + Math.floor(v / 2 ** e);
  }

  /** Highest value that maps to bucket `i`. */
  private valueAt(i: number): number {
    const sub = 1 << this.subBits;
    if (i < sub) return i;
    const e = Math.floor(i / sub);
    const offset = i % sub;
    return (offset + 1) * 2 ** e - 1;
  }
}
