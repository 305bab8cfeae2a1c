/**
 * Durable acceptor storage as an append-only log of checksummed records, with group commit,
 * torn-tail repair and crash-safe compaction. See docs/storage.md for why a log and not an
 * embedded database, and for measurements.
 *
 * On disk, a directory holds one live log `acceptor-<generation>.log` (see codec.ts for the
 * format). Compaction writes the live state as generation + 1 through a temp file, fsyncs it,
 * renames it into place, fsyncs the directory and only then deletes the older log, so after a
 * crash at any step the highest complete generation holds everything that was durable.
 */
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FILE_HEADER_BYTES, FRAME_HEADER_BYTES, decodeFileHeader, decodeRecord, encodeFileHeader, encodeRecord, readFrame,
} from './codec.js';
import { StorageCorruptionError, StorageUnavailableError } from './errors.js';
import { LiveState } from '../protocol/acceptor-state.js';
import type { AcceptorRecord, AcceptorState } from '../protocol/acceptor.js';
import type { AcceptorStore, AcceptorStoreOptions, CompactStep, StoreMetrics, SyncPolicy } from './types.js';
import { SYNC_POLICIES } from './types.js';

const LOG_NAME = /^acceptor-(\d{10})\.log$/;
const TEMP_NAME = /^acceptor-(\d{10})\.log\.tmp$/;
const logName = (generation: number): string => `acceptor-${String(generation).padStart(10, '0')}.log`;

interface Waiter {
  /** Resolved once every record numbered below this is durable. */
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Opens (creating if needed) the acceptor store in `dir`: removes leftovers of an interrupted
 * compaction, replays the newest log, cuts a torn tail, and throws `StorageCorruptionError` on
 * any other damage.
 */
export async function openAcceptorStore(dir: string, options: AcceptorStoreOptions = {}): Promise<AcceptorStore> {
  const sync = options.sync ?? 'batch';
  if (!SYNC_POLICIES.includes(sync)) throw new TypeError(`sync must be one of ${SYNC_POLICIES.join(', ')}, not ${String(sync)}`);
  await mkdir(dir, { recursive: true });
  const metrics: StoreMetrics = {
    records: 0, bytes: 0, fsyncs: 0, compactions: 0, writes: 0, tornTailBytes: 0, staleFilesRemoved: 0,
  };

  const names = await readdir(dir);
  const generations: number[] = [];
  for (const name of names) {
    if (TEMP_NAME.test(name)) {
      // An interrupted compaction: the old log it was replacing is still complete.
      await unlink(join(dir, name));
      metrics.staleFilesRemoved++;
    } else {
      const m = LOG_NAME.exec(name);
      if (m) generations.push(Number(m[1]));
    }
  }
  generations.sort((a, b) => b - a);

  const state = new LiveState();
  let generation: number;
  let handle: FileHandle;
  let size: number;
  if (generations.length === 0) {
    generation = 1;
    handle = await createLog(dir, generation, []);
    size = FILE_HEADER_BYTES;
    metrics.fsyncs++;
  } else {
    generation = generations[0]!;
    const file = join(dir, logName(generation));
    const { end, torn } = await replay(file, generation, state);
    // A compaction that crashed after its rename left older generations behind: superseded.
    // Removed only once the newest has replayed cleanly, so damage leaves every file in place.
    for (const old of generations.slice(1)) {
      await unlink(join(dir, logName(old)));
      metrics.staleFilesRemoved++;
    }
    handle = await open(file, 'r+');
    if (torn > 0) {
      await handle.truncate(end);
      await handle.datasync();
      metrics.fsyncs++;
      metrics.tornTailBytes = torn;
    }
    size = end;
  }
  if (metrics.staleFilesRemoved > 0) await syncDir(dir);
  return new LogStore(dir, sync, options, state, generation, handle, size, metrics);
}

/** Replays one log into `state`. Returns where the valid records end and how many bytes follow. */
async function replay(file: string, generation: number, state: LiveState): Promise<{ end: number; torn: number }> {
  const b = await readFile(file);
  const header = decodeFileHeader(b);
  if ('error' in header) throw new StorageCorruptionError(file, 0, header.error);
  if (header.generation !== generation) {
    throw new StorageCorruptionError(file, 8, `header generation ${header.generation} does not match the file name`);
  }
  let at = FILE_HEADER_BYTES;
  while (at < b.length) {
    const frame = readFrame(b, at);
    if (!frame.ok) {
      // A torn tail is damage that nothing valid follows: a write cut short by a crash. A valid
      // record after the damage means records that were written (maybe synced) are at stake.
      const next = findValidFrame(b, at + 1);
      if (next >= 0) {
        throw new StorageCorruptionError(file, at,
          `${frame.reason}, and a valid record follows at byte ${next} (not a torn tail)`);
      }
      return { end: at, torn: b.length - at };
    }
    let record: AcceptorRecord;
    try {
      record = decodeRecord(frame.body);
    } catch (e) {
      throw new StorageCorruptionError(file, at, `checksum-valid record does not decode: ${(e as Error).message}`);
    }
    state.apply(record);
    at = frame.end;
  }
  return { end: at, torn: 0 };
}

function findValidFrame(b: Buffer, from: number): number {
  for (let at = from; at + FRAME_HEADER_BYTES <= b.length; at++) if (readFrame(b, at).ok) return at;
  return -1;
}

/** Creates a log through a temp file (fsync, rename, fsync dir); returns it open for appending. */
async function createLog(dir: string, generation: number, frames: Buffer[], hook?: (s: CompactStep) => void): Promise<FileHandle> {
  const final = join(dir, logName(generation));
  const temp = `${final}.tmp`;
  const handle = await open(temp, 'wx+');
  try {
    await writeAll(handle, [encodeFileHeader(generation), ...frames], 0);
    hook?.('temp-written');
    await handle.sync();
    hook?.('temp-synced');
    await rename(temp, final);
    hook?.('renamed');
    await syncDir(dir);
    hook?.('dir-synced');
    return handle;
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  const data = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    done += bytesWritten;
  }
  return data.length;
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

class LogStore implements AcceptorStore {
  readonly recovered: AcceptorState;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Records appended so far; record n is durable once `durable > n`. */
  private appended = 0;
  private durable = 0;
  private waiters: Waiter[] = [];
  private compactions: Waiter[] = [];
  /** The writer loop, while it runs. */
  private running: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private base: number;

  constructor(
    readonly dir: string,
    readonly sync: SyncPolicy,
    private readonly options: AcceptorStoreOptions,
    private readonly state: LiveState,
    private generation: number,
    private handle: FileHandle,
    private size: number,
    readonly metrics: StoreMetrics,
  ) {
    this.recovered = state.toState();
    this.base = size;
  }

  get logBytes(): number {
    return this.size + this.pendingBytes;
  }

  get baseBytes(): number {
    return this.base;
  }

  append(records: readonly AcceptorRecord[]): void {
    this.usable();
    // Encode everything first, so a bad record leaves neither the buffer nor the state changed.
    const frames = records.map(encodeRecord);
    for (let i = 0; i < records.length; i++) {
      this.state.apply(records[i]!);
      this.pending.push(frames[i]!);
      this.pendingBytes += frames[i]!.length;
    }
    this.appended += records.length;
    this.metrics.records += records.length;
  }

  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageUnavailableError(`acceptor store ${this.dir} is closed`));
    if (this.durable >= this.appended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target: this.appended, resolve, reject });
      this.kick();
    });
  }

  compact(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageUnavailableError(`acceptor store ${this.dir} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.compactions.push({ target: this.appended, resolve, reject });
      this.kick();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.flush();
      while (this.running) await this.running;
    } finally {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
  }

  private usable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StorageUnavailableError(`acceptor store ${this.dir} is closed`);
  }

  /** Starts the single writer loop unless it runs already. */
  private kick(): void {
    if (this.running) return;
    this.running = this.run();
  }

  private async run(): Promise<void> {
    await null; // let kick() record the promise before the loop can clear it
    try {
      while (!this.failure && (this.waiters.length > 0 || this.compactions.length > 0)) {
        if (this.compactions.length > 0) {
          const requested = this.compactions.length;
          await this.doCompact();
          for (const w of this.compactions.splice(0, requested)) w.resolve();
        } else {
          await this.writeRound();
        }
        this.settle();
      }
      // Cleared in the same synchronous step as the last check, so no flush() is stranded.
      this.running = undefined;
    } catch (e) {
      this.running = undefined;
      this.failure = new StorageUnavailableError(
        `acceptor store ${this.dir} failed and must be reopened: ${(e as Error).message}`, { cause: e });
      for (const w of [...this.waiters, ...this.compactions]) w.reject(this.failure);
      this.waiters = [];
      this.compactions = [];
      await this.handle.close().catch(() => undefined);
    }
  }

  /** One group-commit round: write everything buffered, fsync per policy. */
  private async writeRound(): Promise<void> {
    const buffers = this.pending;
    const bytes = this.pendingBytes;
    const upTo = this.appended;
    this.pending = [];
    this.pendingBytes = 0;
    if (buffers.length > 0) {
      await writeAll(this.handle, buffers, this.size);
      this.size += bytes;
      this.metrics.bytes += bytes;
      this.metrics.writes++;
    }
    if (this.sync !== 'none') {
      // fdatasync: the data and the file size, which is all a reader needs.
      await this.handle.datasync();
      this.metrics.fsyncs++;
    }
    this.durable = upTo;
  }

  /** Resolves the flush() calls the last round covered. */
  private settle(): void {
    if (this.sync === 'always') {
      // No sharing: each flush() call pays for its own fsync.
      const head = this.waiters[0];
      if (head && head.target <= this.durable) {
        this.waiters.shift();
        head.resolve();
      }
      return;
    }
    const still: Waiter[] = [];
    for (const w of this.waiters) (w.target <= this.durable ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private async doCompact(): Promise<void> {
    // Everything appended so far is in the state; the buffered frames are superseded by it.
    const upTo = this.appended;
    this.pending = [];
    this.pendingBytes = 0;
    const frames = this.state.records().map(encodeRecord);
    const next = this.generation + 1;
    const hook = this.options.onCompactStep;
    const handle = await createLog(this.dir, next, frames, hook);
    const old = this.handle;
    const oldName = join(this.dir, logName(this.generation));
    this.handle = handle;
    this.generation = next;
    this.size = FILE_HEADER_BYTES + frames.reduce((n, f) => n + f.length, 0);
    this.base = this.size;
    this.metrics.bytes += this.size;
    this.metrics.fsyncs++;
    this.durable = upTo;
    await old.close();
    await unlink(oldName);
    hook?.('old-removed');
    this.metrics.compactions++;
  }
}
