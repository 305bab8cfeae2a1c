/**
 * A durable acceptor for a worker thread or a CLI process: the core `Acceptor` resumed from its
 * data directory, plus the `HostStorage` through which `RoleHost` persists each Ready's writes,
 * so no answer leaves before the state it reveals is on disk.
 *
 * ```ts
 * const durable = await openDurableAcceptor(id, options, dataDir, 'batch');
 * const host = new RoleHost([{
 *   role: durable.acceptor,
 *   storage: durable.storage((err) => { report(err); host.halt(); }), // group commit per turn
 * }], transport, { now: () => performance.now(), tickMs: 5 });
 * await host.start();
 * // ... on shutdown:
 * await host.stop();
 * await durable.close();
 * ```
 *
 * Also here: background compaction after trims, and a guard against two acceptors on one
 * directory (in this thread: a module-level set; across processes: a lock file with the pid).
 * See docs/storage.md, "Running a durable acceptor".
 */
import { readFile, realpath, unlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { Acceptor } from '../protocol/acceptor.js';
import type { AcceptorRecord } from '../protocol/acceptor-state.js';
import { type HostStorage, orderedStorage } from './role-host.js';
import type { ResolvedOptions } from '../protocol/options.js';
import { DataDirInUseError } from '../storage/errors.js';
import { openAcceptorStore } from '../storage/log-store.js';
import type { AcceptorStore, AcceptorStoreOptions, SyncPolicy } from '../storage/types.js';

/** An acceptor whose state lives in a data directory. */
export interface DurableAcceptor {
  /** The protocol acceptor, resumed from the directory, logging its writes. */
  readonly acceptor: Acceptor;
  /** Its store (for metrics; the runtime should not append to it directly). */
  readonly store: AcceptorStore;
  /**
   * Appends `writes` and resolves once they (and everything before) are durable per the sync
   * policy; a bound function. Cheap when nothing was written (no I/O, an already-resolved
   * promise). Rejects for good once the store failed, a write or fsync or a background
   * compaction: stop answering and restart from the directory.
   */
  readonly persist: (writes: readonly AcceptorRecord[]) => Promise<void>;
  /** This acceptor's storage for `RoleHost`; `onError` once the store failed (halt the host). */
  storage(onError: (err: unknown) => void): Required<HostStorage>;
  /**
   * Waits for a running compaction, closes the store and releases the directory. Idempotent.
   * Call it after `RoleHost.stop()`, which persists what the acceptor wrote before.
   */
  readonly close: () => Promise<void>;
}

/** When to compact: after a trim, once `logBytes > factor * baseBytes + slackBytes`. */
export interface CompactionPolicy {
  /** Default 4: a compaction rewrites at most a quarter of what was appended since the last one. */
  readonly factor: number;
  /** Default 64 MiB: small live states are not rewritten over and over. */
  readonly slackBytes: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = Object.freeze({ factor: 4, slackBytes: 64 * 2 ** 20 });

/** Less common settings of `openDurableAcceptor`; every field optional. */
export interface DurableAcceptorSettings {
  /** When to compact in the background. Default `DEFAULT_COMPACTION`. */
  readonly compaction?: CompactionPolicy;
  /** Opens the store. Default `openAcceptorStore`; tests wrap it (e.g. to hold flushes). */
  readonly openStore?: (dir: string, options: AcceptorStoreOptions) => Promise<AcceptorStore>;
  /** Store options besides `sync` (e.g. the `onCompactStep` test hook). */
  readonly storeOptions?: Omit<AcceptorStoreOptions, 'sync'>;
}

/** The lock file in a data directory; holds `{ pid, start, thread }` as JSON. */
export const LOCK_FILE = 'acceptor.lock';

/** Data directories open in this thread (real paths). Worker threads each have their own. */
const openDirs = new Set<string>();

/**
 * Opens `dataDir` (creating it), recovers the acceptor's state, and returns the acceptor with its
 * `persist`/`close`. Throws `StorageCorruptionError` (damaged log: do not start; its message
 * names the file and byte offset) or `DataDirInUseError` (another acceptor holds the directory).
 */
export async function openDurableAcceptor(
  id: number, options: ResolvedOptions, dataDir: string, sync: SyncPolicy, settings: DurableAcceptorSettings = {},
): Promise<DurableAcceptor> {
  await mkdir(dataDir, { recursive: true });
  const key = await realpath(dataDir);
  // Checked and taken in one synchronous step, so two concurrent opens cannot both pass.
  if (openDirs.has(key)) throw new DataDirInUseError(dataDir, 'another acceptor of this thread');
  openDirs.add(key);
  let locked = false;
  try {
    await takeLock(dataDir);
    locked = true;
    const store = await (settings.openStore ?? openAcceptorStore)(dataDir, { ...settings.storeOptions, sync });
    const acceptor = new Acceptor(id, options, store.recovered, { logWrites: true });
    return new Durable(acceptor, store, settings.compaction ?? DEFAULT_COMPACTION, async () => {
      await unlink(join(dataDir, LOCK_FILE)).catch(() => undefined);
      openDirs.delete(key);
    });
  } catch (e) {
    if (locked) await unlink(join(dataDir, LOCK_FILE)).catch(() => undefined);
    openDirs.delete(key);
    throw e;
  }
}

class Durable implements DurableAcceptor {
  private compacting: Promise<void> | undefined;
  /** A trim was appended since the last compaction started: compacting would shrink the log. */
  private trimmedSinceCompaction = false;
  private failure: unknown;
  private closing: Promise<void> | undefined;

  constructor(
    readonly acceptor: Acceptor,
    readonly store: AcceptorStore,
    private readonly policy: CompactionPolicy,
    private readonly release: () => Promise<void>,
  ) {}

  readonly persist = (writes: readonly AcceptorRecord[]): Promise<void> => {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (writes.length > 0) {
      try {
        this.store.append(writes);
      } catch (e) {
        this.failure = e;
        return Promise.reject(e);
      }
      for (const w of writes) if (w.kind === 'trim') this.trimmedSinceCompaction = true;
      if (this.trimmedSinceCompaction && !this.compacting && !this.closing &&
        this.store.logBytes > this.policy.factor * this.store.baseBytes + this.policy.slackBytes) {
        this.compactInBackground();
      }
    }
    return this.store.flush();
  };

  storage(onError: (err: unknown) => void): Required<HostStorage> {
    return orderedStorage(this.persist, onError);
  }

  private compactInBackground(): void {
    this.trimmedSinceCompaction = false;
    this.compacting = this.store.compact().catch((e: unknown) => {
      // The store has failed as a whole (its flushes reject too); make sure persist() says so.
      this.failure ??= e;
    }).finally(() => { this.compacting = undefined; });
  }

  readonly close = (): Promise<void> => {
    this.closing ??= (async () => {
      try {
        while (this.compacting) await this.compacting;
        await this.store.close();
      } finally {
        await this.release();
      }
    })();
    return this.closing;
  };
}

// ---------------------------------------------------------------------------------------------
// The lock file.

interface LockInfo {
  readonly pid: number;
  /** The process's start time (Linux: /proc/<pid>/stat field 22), to tell a reused pid apart. */
  readonly start?: string;
  readonly thread: number;
}

/** The start time of process `pid`, where the OS tells it cheaply (Linux); else undefined. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Who holds the directory per its lock file, or undefined when the lock is stale: its process is
 * gone, or the pid now belongs to a process started at another time (a reused pid, such as pid 1
 * of a restarted container).
 */
async function liveHolder(lock: LockInfo): Promise<string | undefined> {
  if (lock.pid === process.pid) {
    const mine = await processStart(process.pid);
    if (lock.start !== undefined && mine !== undefined && lock.start !== mine) return undefined; // an earlier process with our pid
    // This process. Another thread's module-level set is out of reach, and whether that thread
    // still runs can't be told from here: refuse (see `releaseDataDirLock`).
    return lock.thread === threadId ? undefined : `thread ${lock.thread} of this process (pid ${lock.pid})`;
  }
  if (!pidAlive(lock.pid)) return undefined;
  if (lock.start !== undefined) {
    const start = await processStart(lock.pid);
    if (start !== undefined && start !== lock.start) return undefined;
  }
  return `process ${lock.pid}`;
}

async function takeLock(dir: string): Promise<void> {
  const file = join(dir, LOCK_FILE);
  const start = await processStart(process.pid);
  const content = JSON.stringify({ pid: process.pid, ...(start !== undefined ? { start } : {}), thread: threadId });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, content, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let lock: LockInfo | undefined;
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockInfo>;
      if (Number.isSafeInteger(parsed.pid) && Number.isSafeInteger(parsed.thread)) lock = parsed as LockInfo;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      // Unreadable or half-written (a crash while creating it): stale.
    }
    const holder = lock && await liveHolder(lock);
    if (holder !== undefined) throw new DataDirInUseError(dir, `${holder} (lock file ${file})`);
    await unlink(file).catch(() => undefined); // stale: take over
  }
  throw new DataDirInUseError(dir, `another opener racing for the lock file ${file}`);
}

/**
 * Removes the lock file of `dataDir`. Only for a supervisor that knows the holder is gone but
 * could not close it, e.g. the main thread after an acceptor's worker thread was terminated (a
 * lock held by another thread of the same process is otherwise refused, since its liveness can't
 * be checked). Never call it while the holder may still run.
 */
export async function releaseDataDirLock(dataDir: string): Promise<void> {
  await unlink(join(dataDir, LOCK_FILE)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}
