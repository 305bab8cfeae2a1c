/**
 * A learner's newest application state on disk (`<dataDir>/learner-<i>.state`), so that a
 * restarted replica restores it instead of fetching one from a peer. One file, replaced whole:
 * written to a temp file, fsynced, renamed over the old one, the directory fsynced, so a crash
 * leaves either the old state or the new one. Writes are serialized and coalesced: a state that
 * arrives while one is being written replaces any older one still waiting. The content is the
 * core's state blob (lib/protocol/state-blob.ts), which the learner checks when it loads it.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The state in `path`, or undefined when there is none yet. */
export async function readStateFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export class StateFile {
  private writing: Promise<void> = Promise.resolve();
  private next: Uint8Array | undefined;
  private busy = false;

  /** @param onError told of a failed write (the previous state stays in place) */
  constructor(readonly path: string, private readonly onError: (e: Error) => void) {}

  /** Replace the state on disk with `blob` (eventually; the newest of several waiting wins). */
  write(blob: Uint8Array): void {
    this.next = blob;
    if (this.busy) return;
    this.busy = true;
    this.writing = this.drain();
  }

  /** Resolves once every state handed to `write` so far is on disk (or failed). */
  flushed(): Promise<void> {
    return this.writing;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const blob = this.next;
      this.next = undefined;
      try {
        await replaceFile(this.path, blob);
      } catch (e) {
        this.onError(e as Error);
      }
    }
    this.busy = false;
  }
}

async function replaceFile(path: string, blob: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(blob);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
