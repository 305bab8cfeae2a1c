/** Temporary directories for tests, under the OS temp directory, deleted with everything in them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  /** Absolute path of the new, empty directory (its name starts with the prefix). */
  readonly path: string;
  /** Delete the directory and everything in it; again is harmless. */
  remove(): void;
}

/** A new directory `<tmp>/<prefix>XXXXXX`; the caller removes it (e.g. in `finally` or `afterEach`). */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * For the tests of the enclosing `describe` (of the whole run when called at the top of a file):
 * returns a function that makes a new directory, and registers an `afterEach` that deletes every
 * directory made during the test. Hooks run in the order they are registered, so call this after
 * any `afterEach` that must still find the directories (one that stops what writes into them).
 */
export function tempDirs(prefix: string): () => string {
  let made: TempDir[] = [];
  afterEach(() => {
    for (const dir of made) dir.remove();
    made = [];
  });
  return () => {
    const dir = tempDir(prefix);
    made.push(dir);
    return dir.path;
  };
}
