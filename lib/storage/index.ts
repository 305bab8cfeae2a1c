/**
 * Durable acceptor storage: an append-only checksummed log with group commit, torn-tail repair
 * and crash-safe compaction (`openAcceptorStore`), and an in-memory twin with crash simulation
 * for the simulator (`MemoryAcceptorStore`). It stores the core's `AcceptorRecord`s (from
 * `Ready.writes` of an `Acceptor`) and recovers the core's `AcceptorState`. Design and measurements:
 * docs/storage.md; a ready-made durable acceptor for runtimes: lib/runtime/durable-acceptor.ts.
 * @module paxos-cluster/storage
 */
export { openAcceptorStore } from './log-store.js';
export { MemoryAcceptorStore } from './memory-store.js';
export { DataDirInUseError, StorageCorruptionError, StorageUnavailableError } from './errors.js';
export { SYNC_POLICIES } from './types.js';
export type {
  AcceptorRecord, AcceptorState, AcceptorStore, AcceptorStoreOptions, CompactStep, StoreMetrics, SyncPolicy,
} from './types.js';
