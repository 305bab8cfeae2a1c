/**
 * An in-memory `AcceptorStore` for the simulator and unit tests: same contract as the log store,
 * no disk. It remembers which records were flushed and which were fsynced, so a simulated crash
 * can keep exactly what would survive: `crash('process')` keeps every flushed record (the OS
 * page cache survives a killed process), `crash('machine')` keeps only fsynced ones (with sync
 * `none`, nothing after the last compaction).
 */
import { StorageUnavailableError } from './errors.js';
import { LiveState } from '../protocol/acceptor-state.js';
import type { AcceptorRecord, AcceptorState } from '../protocol/acceptor.js';
import type { AcceptorStore, StoreMetrics, SyncPolicy } from './types.js';

export class MemoryAcceptorStore implements AcceptorStore {
  readonly recovered: AcceptorState;
  readonly metrics: StoreMetrics = {
    records: 0, bytes: 0, fsyncs: 0, compactions: 0, writes: 0, tornTailBytes: 0, staleFilesRemoved: 0,
  };
  private readonly state = new LiveState();
  /** The "file": records from the last compaction on; the first `synced` of them are fsynced. */
  private log: AcceptorRecord[];
  private written: number;
  private synced: number;
  private pending: AcceptorRecord[] = [];
  private closed = false;
  private base: number;

  /** Opens a store holding `records` (all durable), as after a restart. */
  constructor(readonly sync: SyncPolicy = 'batch', records: readonly AcceptorRecord[] = [], readonly dir = 'memory') {
    for (const r of records) this.state.apply(r);
    this.recovered = this.state.toState();
    this.log = [...records];
    this.written = this.synced = this.base = this.log.length;
  }

  /** Records in the log, for `logBytes`-style compaction policies (counted in records here). */
  get logBytes(): number {
    return this.log.length + this.pending.length;
  }

  get baseBytes(): number {
    return this.base;
  }

  append(records: readonly AcceptorRecord[]): void {
    if (this.closed) throw new StorageUnavailableError(`acceptor store ${this.dir} is closed`);
    for (const r of records) this.state.apply(r);
    this.pending.push(...records);
    this.metrics.records += records.length;
  }

  /** Synchronous flush, for a deterministic simulator step. */
  flushSync(): void {
    if (this.closed) throw new StorageUnavailableError(`acceptor store ${this.dir} is closed`);
    if (this.pending.length > 0) {
      this.log.push(...this.pending);
      this.pending = [];
      this.metrics.writes++;
    }
    this.written = this.log.length;
    if (this.sync !== 'none' && this.synced < this.written) {
      this.synced = this.written;
      this.metrics.fsyncs++;
    }
  }

  flush(): Promise<void> {
    try {
      this.flushSync();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  compact(): Promise<void> {
    this.pending = [];
    this.log = this.state.records();
    this.written = this.synced = this.base = this.log.length;
    this.metrics.compactions++;
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.closed) this.flushSync();
    this.closed = true;
    return Promise.resolve();
  }

  /**
   * Simulates a crash: the store becomes unusable and returns the records a restart finds.
   * Reopen with `new MemoryAcceptorStore(sync, records)`.
   */
  crash(kind: 'process' | 'machine'): AcceptorRecord[] {
    this.closed = true;
    return this.log.slice(0, kind === 'process' ? this.written : this.synced);
  }
}
