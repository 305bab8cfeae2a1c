/**
 * The shape of durable acceptor storage: what an acceptor writes (records), what it gets back
 * after a restart (state), and the store that sits between them.
 */
import type { AcceptorRecord, AcceptorState } from '../protocol/acceptor.js';

// The records and the state are the protocol core's own types (lib/protocol/acceptor.ts): the
// Acceptor produces the records (in `Ready.writes`), `applyAcceptorRecords` defines what they mean,
// and the store only keeps them. Re-exported for storage users.
export type { AcceptorRecord, AcceptorState };

/**
 * When `flush()` makes buffered records durable.
 * - `always`: every `flush()` call does its own write and fsync (one fsync per answer: the
 *   simplest safe policy, and the slowest).
 * - `batch`: group commit. One write + fsync covers every record appended so far; `flush()`
 *   calls made while an fsync is in flight share the next one. Same guarantee as `always`.
 * - `none`: `flush()` writes to the OS page cache without fsync. Survives a process crash
 *   (SIGKILL), **not** a machine crash or power loss: unsafe for Paxos across those.
 */
export type SyncPolicy = 'always' | 'batch' | 'none';

export const SYNC_POLICIES: readonly SyncPolicy[] = ['always', 'batch', 'none'];

/** Counters of one open store. */
export interface StoreMetrics {
  /** Records appended since open. */
  records: number;
  /** Bytes written to log files since open (records and compaction snapshots). */
  bytes: number;
  /** fsync calls on log files since open (directory fsyncs not counted). */
  fsyncs: number;
  /** Completed compactions since open. */
  compactions: number;
  /** Write rounds (one write system call batch each) since open. */
  writes: number;
  /** Bytes cut from a torn log tail at open (0: the log ended cleanly). */
  tornTailBytes: number;
  /** Leftover files of an interrupted compaction removed at open. */
  staleFilesRemoved: number;
}

/** Durable storage for one acceptor. */
export interface AcceptorStore {
  /** The directory holding the store. */
  readonly dir: string;
  readonly sync: SyncPolicy;
  /**
   * State recovered at open (after torn-tail repair): exactly `applyAcceptorRecords` of the
   * durable records, so `new Acceptor(id, options, store.recovered, { logWrites: true })`
   * resumes from it. A snapshot: later appends don't change it.
   */
  readonly recovered: AcceptorState;
  /** Buffer records in order. Cheap; no I/O until `flush()`. Throws if the store is unusable. */
  append(records: readonly AcceptorRecord[]): void;
  /**
   * Make every record appended before this call durable per the sync policy, then resolve.
   * Rejects (with `StorageUnavailableError`) if a write or fsync failed; the store is then
   * unusable and must be reopened.
   */
  flush(): Promise<void>;
  /**
   * Write a compact snapshot (promise, trim point, live accepted values) as a fresh log and drop
   * the old one, so disk stays bounded after trims. Crash-safe: temp file, fsync, rename, fsync
   * directory. Appends may continue meanwhile; they land in the new log.
   */
  compact(): Promise<void>;
  /** Flush, then close the files. Idempotent. */
  close(): Promise<void>;
  /** Bytes in the current log file, including what is buffered: drives a compaction policy. */
  readonly logBytes: number;
  /** Bytes the current log had right after its last compaction (or open). */
  readonly baseBytes: number;
  readonly metrics: Readonly<StoreMetrics>;
}

/** Options of `openAcceptorStore`. */
export interface AcceptorStoreOptions {
  /** When flush() fsyncs. Default `batch`. */
  readonly sync?: SyncPolicy;
  /**
   * Testing hook: called at each step of `compact()`. Throwing aborts the compaction at that
   * step and leaves the store unusable, as a crash there would (the files stay as they are).
   */
  readonly onCompactStep?: (step: CompactStep) => void;
}

/** The steps of a compaction, in order (see `AcceptorStoreOptions.onCompactStep`). */
export type CompactStep =
  | 'temp-written' // snapshot written to `<log>.tmp`, not yet fsynced
  | 'temp-synced' // temp file fsynced, not yet renamed
  | 'renamed' // temp renamed to the new log name, directory not yet fsynced
  | 'dir-synced' // rename durable; old log still present
  | 'old-removed'; // old log unlinked
