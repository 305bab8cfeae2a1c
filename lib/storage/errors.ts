/** Errors of the durable acceptor storage, as named classes with a stable `code`. */

/**
 * A storage file is damaged somewhere other than a torn tail: a bad header (magic, version), or
 * a record whose checksum fails while valid records follow it. The acceptor must not start from
 * such a directory: a forgotten promise could let two different values be chosen.
 */
export class StorageCorruptionError extends Error {
  readonly code = 'ERR_PAXOS_STORAGE_CORRUPT';
  override readonly name = 'StorageCorruptionError';

  constructor(
    /** The damaged file. */
    readonly file: string,
    /** Byte offset of the first damaged byte range (a header or record start). */
    readonly offset: number,
    /** What is wrong there. */
    readonly reason: string,
  ) {
    super(`acceptor storage corrupt: ${file} at byte ${offset}: ${reason}`);
  }
}

/**
 * The store can no longer be used: it was closed, or a write or fsync failed (after a failed
 * fsync the kernel may have dropped the dirty pages, so retrying could claim durability that
 * does not exist; reopen the directory instead).
 */
export class StorageUnavailableError extends Error {
  readonly code = 'ERR_PAXOS_STORAGE_UNAVAILABLE';
  override readonly name = 'StorageUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Another acceptor holds the data directory: one in this thread (a second `openDurableAcceptor`
 * of the same directory), another thread of this process, or another live process (its pid is in
 * the directory's lock file). Two writers on one log would interleave records.
 */
export class DataDirInUseError extends Error {
  readonly code = 'ERR_PAXOS_DATA_DIR_IN_USE';
  override readonly name = 'DataDirInUseError';

  constructor(
    /** The data directory (as given). */
    readonly dir: string,
    /** Who holds it, in words. */
    readonly holder: string,
  ) {
    super(`acceptor data directory ${dir} is in use by ${holder}`);
  }
}
