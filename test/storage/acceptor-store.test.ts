import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, truncate, writeFile, appendFile, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZERO_BALLOT } from '../../lib/protocol/ballot.js';
import type { Batch, DeliverySnapshot } from '../../lib/protocol/messages.js';
import { crc32, decodeRecord, encodeRecord, readFrame, FILE_HEADER_BYTES } from '../../lib/storage/codec.js';
import {
  type AcceptorRecord, type AcceptorStore, type CompactStep, type SyncPolicy,
  StorageCorruptionError, StorageUnavailableError, openAcceptorStore,
} from '../../lib/storage/index.js';
import { ballot } from '../kit/ballot.js';
import { onDisk } from '../kit/store.js';
import { tempDirs } from '../kit/temp-dir.js';
import { expectedValue } from './fixtures/expected-value.js';

const b = (round: number, proposer: number) => ballot(round, proposer, 0);
const sub = (client: number, seq: number, value: string | Uint8Array) => ({ client, seq, value });
const accept = (instance: number, round: number, batch: Batch): AcceptorRecord =>
  ({ kind: 'accept', instance, ballot: b(round, 1), batch });
const value16 = (i: number) => `v${String(i).padStart(15, '0')}`;
/** A delivery snapshot at `instance`, with a filter state worth round-tripping. */
const snap = (instance: number): DeliverySnapshot => ({
  instance, position: instance * 3 + 1, nextClient: 2 ** 40 + 1,
  clients: [{ client: 7, low: instance, above: [instance + 2, instance + 5], active: instance }, { client: 2 ** 40, low: 0, above: [], active: 0 }],
});
const trim = (instance: number): AcceptorRecord => ({ kind: 'trim', snapshot: snap(instance) });

/** Values that must survive the disk exactly. */
const TRICKY: Array<string | Uint8Array> = [
  '', 'plain', 'ünïcödé', '日本語のテキスト', '🎉 emoji 👩‍👩‍👧 family', '\u0000nul\u0000', '\uD800 lone high', 'lone low \uDC00',
  'x'.repeat(70_000), new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, i) => i), new Uint8Array(randomBytes(5000)),
];

const newDir = tempDirs('paxos-store-test-');

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('acceptor-')).sort();
}
async function onlyLog(dir: string): Promise<string> {
  const files = await logFiles(dir);
  expect(files).to.have.length(1);
  expect(files[0]).to.match(/\.log$/);
  return join(dir, files[0]!);
}
async function expectCorrupt(dir: string, file: string, offset?: number): Promise<StorageCorruptionError> {
  try {
    const s = await openAcceptorStore(dir);
    await s.close();
  } catch (e) {
    expect(e).to.be.instanceOf(StorageCorruptionError);
    const err = e as StorageCorruptionError;
    expect(err.code).to.equal('ERR_PAXOS_STORAGE_CORRUPT');
    expect(err.file).to.equal(file);
    expect(err.message).to.contain(file);
    if (offset !== undefined) {
      expect(err.offset).to.equal(offset);
      expect(err.message).to.contain(`at byte ${offset}`);
    }
    return err;
  }
  throw new Error('expected StorageCorruptionError');
}

/** The textbook table CRC-32 (IEEE), as an oracle for the one the store uses (node:zlib's). */
function tableCrc32(data: Uint8Array): number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

describe('Acceptor storage: record encoding', () => {
  it("CRC-32 (node:zlib's) matches the table implementation", () => {
    for (const data of [new Uint8Array(0), Buffer.from('123456789'), new Uint8Array(randomBytes(1000))]) {
      expect(crc32(data)).to.equal(tableCrc32(data));
    }
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
  });

  it('round-trips every record kind, any Unicode string and any bytes exactly', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const records: AcceptorRecord[] = [
      { kind: 'promise', ballot: { round: max, node: max } },
      { kind: 'promise', ballot: ZERO_BALLOT },
      { kind: 'trim', snapshot: { instance: max, position: max, nextClient: max, clients: [{ client: max, low: max, above: [max, 0], active: max }] } },
      { kind: 'trim', snapshot: { instance: 0, position: 0, nextClient: 1, clients: [] } },
      trim(12),
      accept(max, 3, TRICKY.map((v, i) => sub(max - i, i, v))),
      accept(0, 0, []),
    ];
    for (const r of records) {
      const frame = encodeRecord(r);
      const read = readFrame(frame, 0);
      expect(read.ok).to.equal(true);
      if (!read.ok) continue;
      expect(read.end).to.equal(frame.length);
      expect(decodeRecord(read.body)).to.deep.equal(r);
    }
  });

  it('refuses values that are not strings or bytes, and integers beyond 2^53', () => {
    expect(() => encodeRecord(accept(0, 1, [{ client: 1, seq: 0, value: 5 as unknown as string }]))).to.throw(TypeError);
    const trimAt = (instance: number, position: number, low: number, above: number[]): AcceptorRecord =>
      ({ kind: 'trim', snapshot: { instance, position, nextClient: 2, clients: [{ client: 1, low, above, active: 0 }] } });
    expect(() => encodeRecord(trimAt(2 ** 53, 0, 0, []))).to.throw(RangeError);
    expect(() => encodeRecord(trimAt(-1, 0, 0, []))).to.throw(RangeError);
    expect(() => encodeRecord(trimAt(1, 2 ** 53, 0, []))).to.throw(RangeError);
    expect(() => encodeRecord(trimAt(1, 0, 1.5, []))).to.throw(RangeError);
    expect(() => encodeRecord(trimAt(1, 0, 0, [3, -2]))).to.throw(RangeError);
  });
});

describe('Acceptor storage: durable log', () => {
  for (const sync of ['always', 'batch', 'none'] as SyncPolicy[]) {
    it(`recovers after reopen exactly what was flushed (sync ${sync})`, async () => {
      const dir = newDir();
      const s = await openAcceptorStore(dir, { sync });
      expect(s.recovered).to.deep.equal({ promised: ZERO_BALLOT, accepted: [] });
      s.append([{ kind: 'promise', ballot: b(2, 1) }]);
      s.append([accept(0, 2, [sub(1, 0, 'a')]), accept(1, 2, TRICKY.map((v, i) => sub(9, i, v)))]);
      await s.flush();
      await s.close();
      const r = await openAcceptorStore(dir, { sync });
      expect(r.recovered.promised).to.deep.equal(b(2, 1));
      expect(r.recovered.trimmed).to.equal(undefined);
      expect(r.recovered.accepted).to.deep.equal([
        { instance: 0, ballot: b(2, 1), batch: [sub(1, 0, 'a')] },
        { instance: 1, ballot: b(2, 1), batch: TRICKY.map((v, i) => sub(9, i, v)) },
      ]);
      expect(r.metrics.tornTailBytes).to.equal(0);
      await r.close();
    });
  }

  it('never lowers a promise, treats an accept as a promise, and forgets trimmed instances', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir);
    s.append([
      { kind: 'promise', ballot: b(5, 2) },
      { kind: 'promise', ballot: b(3, 1) }, // stale: must not lower the promise
      accept(4, 1, [sub(1, 4, 'old')]),
      { kind: 'accept', instance: 4, ballot: b(7, 1), batch: [sub(1, 4, 'new')] },
      accept(1, 1, [sub(1, 1, 'x')]),
      accept(9, 1, [sub(1, 9, 'y')]),
      trim(4),
      trim(2), // lower trims are no-ops
      accept(3, 1, [sub(1, 3, 'late')]), // below the trim point: forgotten
    ]);
    await s.close(); // close flushes
    const r = await openAcceptorStore(dir);
    expect(r.recovered).to.deep.equal({
      promised: b(7, 1),
      trimmed: snap(4),
      accepted: [
        { instance: 4, ballot: b(7, 1), batch: [sub(1, 4, 'new')] },
        { instance: 9, ballot: b(1, 1), batch: [sub(1, 9, 'y')] },
      ],
    });
    await r.close();
  });

  it('appends after a reopen continue the same log', async () => {
    const dir = newDir();
    for (let round = 0; round < 3; round++) {
      const s = await openAcceptorStore(dir);
      expect(s.recovered.accepted.map((e) => e.instance)).to.deep.equal([...Array(round * 10).keys()]);
      for (let i = round * 10; i < round * 10 + 10; i++) s.append([accept(i, 1, [sub(1, i, value16(i))])]);
      await s.flush();
      await s.close();
    }
    expect(await logFiles(dir)).to.have.length(1);
  });

  it('an unflushed append is not durable, and a closed store refuses work', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir);
    s.append([accept(0, 1, [sub(1, 0, 'kept')])]);
    await s.flush();
    s.append([accept(1, 1, [sub(1, 1, 'buffered only')])]);
    // A second opener sees only what was written (the first store is still open: a "crash").
    const r = await openAcceptorStore(dir);
    expect(r.recovered.accepted.map((e) => e.instance)).to.deep.equal([0]);
    await r.close();
    await s.close();
    expect(() => s.append([])).to.throw(StorageUnavailableError);
    let rejected: unknown;
    await s.flush().catch((e: unknown) => { rejected = e; });
    expect(rejected).to.be.instanceOf(StorageUnavailableError);
  });
});

describe('Acceptor storage: torn tail and corruption', () => {
  /** A log with three records; returns the file and where the last record starts. */
  async function threeRecords(dir: string): Promise<{ file: string; lastStart: number; size: number }> {
    const s = await openAcceptorStore(dir, { sync: 'none' });
    s.append([{ kind: 'promise', ballot: b(1, 0) }, accept(0, 1, [sub(1, 0, 'first ✓')])]);
    await s.flush();
    const lastStart = s.logBytes;
    s.append([accept(1, 1, [sub(1, 1, 'second 🎉'), sub(1, 2, new Uint8Array([0, 1, 2, 255]))])]);
    await s.close();
    const file = await onlyLog(dir);
    return { file, lastStart, size: (await stat(file)).size };
  }
  const before = { promised: b(1, 1), accepted: [{ instance: 0, ballot: b(1, 1), batch: [sub(1, 0, 'first ✓')] }] };

  it('cuts a torn last record at every byte offset and recovers the records before it', async () => {
    const dir = newDir();
    const { file, lastStart, size } = await threeRecords(dir);
    const pristine = await readFile(file);
    for (let cut = lastStart; cut < size; cut++) {
      await writeFile(file, pristine.subarray(0, cut));
      const s = await openAcceptorStore(dir);
      expect(s.recovered, `cut at ${cut}`).to.deep.equal(before);
      expect(s.metrics.tornTailBytes, `cut at ${cut}`).to.equal(cut - lastStart);
      await s.close();
      expect((await stat(file)).size).to.equal(lastStart);
    }
    // The repaired log takes new records normally.
    const s = await openAcceptorStore(dir);
    s.append([accept(5, 1, [sub(1, 5, 'after repair')])]);
    await s.close();
    const r = await openAcceptorStore(dir);
    expect(r.metrics.tornTailBytes).to.equal(0);
    expect(r.recovered.accepted.map((e) => e.instance)).to.deep.equal([0, 5]);
    await r.close();
  });

  it('treats a zero-filled or garbage tail (file extended, data never written) as torn', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from(randomBytes(300))]) {
      const dir = newDir();
      const { file, size } = await threeRecords(dir);
      await appendFile(file, tail);
      const s = await openAcceptorStore(dir);
      expect(s.metrics.tornTailBytes).to.equal(tail.length);
      expect(s.recovered.accepted.map((e) => e.instance)).to.deep.equal([0, 1]);
      await s.close();
      expect((await stat(file)).size).to.equal(size);
    }
  });

  it('throws StorageCorruptionError, naming file and offset, for damage at any byte of a record that valid records follow', async () => {
    const dir = newDir();
    const { file, lastStart } = await threeRecords(dir);
    const pristine = await readFile(file);
    // The second record (the accept of instance 0) starts after the header and the promise.
    const secondStart = FILE_HEADER_BYTES + encodeRecord({ kind: 'promise', ballot: b(1, 0) }).length;
    for (let at = secondStart; at < lastStart; at++) {
      const damaged = Buffer.from(pristine);
      damaged[at] = damaged[at]! ^ 0x10;
      await writeFile(file, damaged);
      const err = await expectCorrupt(dir, file, secondStart);
      expect(err.message).to.match(/checksum|length/);
    }
    // Nothing was "repaired" away.
    expect((await stat(file)).size).to.equal(pristine.length);
  });

  it('throws for a bad magic, an unknown format version or a damaged file header', async () => {
    for (const [at, value] of [[0, 0x51], [4, 9], [9, 1], [13, 0]] as const) {
      const dir = newDir();
      const { file } = await threeRecords(dir);
      const damaged = await readFile(file);
      damaged[at] = value === damaged[at] ? value + 1 : value;
      await writeFile(file, damaged);
      const err = await expectCorrupt(dir, file);
      expect(err.message).to.match(/magic|version|header/);
    }
  });

  it('throws for a log shorter than its header rather than starting empty', async () => {
    const dir = newDir();
    const { file } = await threeRecords(dir);
    await truncate(file, 10);
    await expectCorrupt(dir, file, 0);
  });
});

describe('Acceptor storage: compaction', () => {
  async function fill(s: AcceptorStore, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) s.append([accept(i, 1 + (i % 3), [sub(2, i, value16(i)), sub(3, i, new Uint8Array([i & 0xff]))])]);
    await s.flush();
  }

  it('keeps exactly the live state and bounds the file after a trim', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir);
    s.append([{ kind: 'promise', ballot: b(9, 2) }]);
    await fill(s, 0, 2000);
    s.append([trim(1990)]);
    await s.flush();
    const grown = s.logBytes;
    const live = await onDisk(dir); // what a restart would see now
    await s.compact();
    expect(s.metrics.compactions).to.equal(1);
    expect(s.logBytes).to.be.below(grown / 50);
    expect(s.baseBytes).to.equal(s.logBytes);
    await s.close();
    const file = await onlyLog(dir);
    expect(file).to.match(/acceptor-0000000002\.log$/);
    expect((await stat(file)).size).to.equal(s.logBytes);
    const r = await openAcceptorStore(dir);
    expect(r.recovered).to.deep.equal(live);
    expect(r.recovered.trimmed).to.deep.equal(snap(1990));
    expect(r.recovered.accepted.map((e) => e.instance)).to.deep.equal([...Array(10).keys()].map((i) => 1990 + i));
    await r.close();
  });

  it('takes appends while compacting: they land in the new log, and every flush covers them', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir, { sync: 'batch' });
    await fill(s, 0, 500);
    s.append([trim(400)]);
    const compacting = s.compact();
    const flushes: Promise<void>[] = [];
    for (let i = 500; i < 600; i++) {
      s.append([accept(i, 1, [sub(2, i, value16(i))])]);
      flushes.push(s.flush());
    }
    await Promise.all([compacting, ...flushes]);
    s.append([{ kind: 'promise', ballot: b(50, 0) }]);
    await s.close();
    const r = await openAcceptorStore(dir);
    expect(r.recovered.promised).to.deep.equal(b(50, 0));
    expect(r.recovered.accepted.map((e) => e.instance)).to.deep.equal([...Array(200).keys()].map((i) => 400 + i));
    expect(await logFiles(dir)).to.have.length(1);
    await r.close();
  });

  const steps: CompactStep[] = ['temp-written', 'temp-synced', 'renamed', 'dir-synced', 'old-removed'];
  for (const step of steps) {
    it(`survives a crash at compaction step "${step}"`, async () => {
      const dir = newDir();
      const s = await openAcceptorStore(dir, {
        sync: 'always',
        onCompactStep: (at) => { if (at === step) throw new Error(`crash at ${at}`); },
      });
      s.append([{ kind: 'promise', ballot: b(4, 1) }]);
      await fill(s, 0, 300);
      s.append([trim(250)]);
      await s.flush();
      const live = await onDisk(dir);
      let failed: unknown;
      await s.compact().catch((e: unknown) => { failed = e; });
      expect(failed).to.be.instanceOf(StorageUnavailableError);
      expect(() => s.append([])).to.throw(StorageUnavailableError);
      const left = await logFiles(dir);
      if (step === 'temp-written' || step === 'temp-synced') expect(left.some((n) => n.endsWith('.tmp'))).to.equal(true);
      if (step === 'renamed' || step === 'dir-synced') expect(left.filter((n) => n.endsWith('.log'))).to.have.length(2);
      const r = await openAcceptorStore(dir);
      expect(r.recovered).to.deep.equal(live);
      await onlyLog(dir);
      // The survivor keeps working and compacts cleanly.
      r.append([accept(300, 5, [sub(1, 300, 'after crash')])]);
      await r.compact();
      await r.close();
      const again = await openAcceptorStore(dir);
      expect(again.recovered.accepted.map((e) => e.instance)).to.deep.equal([...Array(50).keys()].map((i) => 250 + i).concat(300));
      await again.close();
    });
  }

  it('ignores a partial temp file left by a crash before it was complete', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir);
    await fill(s, 0, 20);
    await s.close();
    await writeFile(join(dir, 'acceptor-0000000002.log.tmp'), Buffer.from('PXAL\u0001garbage'));
    const r = await openAcceptorStore(dir);
    expect(r.metrics.staleFilesRemoved).to.equal(1);
    expect(r.recovered.accepted).to.have.length(20);
    expect(await logFiles(dir)).to.deep.equal(['acceptor-0000000001.log']);
    await r.close();
  });
});

describe('Acceptor storage: group commit', () => {
  it('batch: concurrent flushes share fsyncs (far fewer fsyncs than records), all records durable', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir, { sync: 'batch' });
    const fsyncsAtOpen = s.metrics.fsyncs;
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      s.append([accept(i, 1, [sub(1, i, value16(i))])]);
      flushes.push(s.flush());
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve)); // let rounds start mid-stream
    }
    await Promise.all(flushes);
    const fsyncs = s.metrics.fsyncs - fsyncsAtOpen;
    expect(fsyncs).to.be.at.least(1);
    expect(fsyncs).to.be.below(100);
    expect(s.metrics.records).to.equal(1000);
    await s.close();
    const r = await openAcceptorStore(dir);
    expect(r.recovered.accepted).to.have.length(1000);
    await r.close();
  });

  it('always: every flush() call pays its own fsync; none: no fsync at all', async () => {
    for (const [sync, expected] of [['always', 50], ['none', 0]] as const) {
      const dir = newDir();
      const s = await openAcceptorStore(dir, { sync });
      const fsyncsAtOpen = s.metrics.fsyncs;
      const flushes: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        s.append([accept(i, 1, [sub(1, i, value16(i))])]);
        flushes.push(s.flush());
      }
      await Promise.all(flushes);
      expect(s.metrics.fsyncs - fsyncsAtOpen, sync).to.equal(expected);
      await s.close();
    }
  });

  it('a flush with nothing new resolves without I/O', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir, { sync: 'always' });
    const before = { ...s.metrics };
    await s.flush();
    await s.flush();
    expect(s.metrics.fsyncs).to.equal(before.fsyncs);
    await s.close();
  });
});

describe('Acceptor storage: crash of a writer process', function () {
  this.timeout(60_000);
  const child = fileURLToPath(new URL('./fixtures/writer-child.js', import.meta.url));

  /** Runs the writer until it has acknowledged `acks` flushes (plus a random extra delay), then SIGKILLs it. */
  function runAndKill(dir: string, sync: SyncPolicy, acks: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [child, dir, sync], { stdio: ['ignore', 'pipe', 'inherit'] });
      let lastAck = -1;
      let seen = 0;
      let buffered = '';
      let killing = false;
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const m = /^ack (\d+)$/.exec(line);
          if (!m) continue;
          lastAck = Math.max(lastAck, Number(m[1]));
          seen++;
        }
        if (seen >= acks && !killing) {
          killing = true;
          // Kill at an arbitrary point of the next writes, not right after an ack.
          setTimeout(() => proc.kill('SIGKILL'), Math.floor(Math.random() * 5));
        }
      });
      proc.on('error', reject);
      proc.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal} before it was killed`));
        else resolve(lastAck);
      });
    });
  }

  for (const sync of ['always', 'batch'] as SyncPolicy[]) {
    it(`every flush() that resolved before a SIGKILL is recovered (sync ${sync}, 3 kills)`, async () => {
      const dir = newDir();
      let acked = -1;
      for (let kill = 0; kill < 3; kill++) {
        acked = Math.max(acked, await runAndKill(dir, sync, 150 + kill * 50));
        const s = await openAcceptorStore(dir, { sync });
        const { accepted } = s.recovered;
        // A prefix of instances, covering every acknowledged one, each with its exact value.
        expect(accepted.length).to.be.above(acked);
        accepted.forEach((e, i) => {
          expect(e.instance).to.equal(i);
          expect(e.batch).to.deep.equal([{ client: 7, seq: i, value: expectedValue(i) }]);
        });
        await s.close();
      }
    });
  }
});

describe('Acceptor storage: directory handling', () => {
  it('creates a missing directory and rejects an unknown sync policy', async () => {
    const dir = join(newDir(), 'nested', 'acceptor-3');
    const s = await openAcceptorStore(dir);
    expect(s.sync).to.equal('batch');
    await s.close();
    expect(await logFiles(dir)).to.deep.equal(['acceptor-0000000001.log']);
    let err: unknown;
    await openAcceptorStore(dir, { sync: 'sometimes' as SyncPolicy }).catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(TypeError);
  });

  it('a superseded older log left beside a newer one is removed, never replayed', async () => {
    const dir = newDir();
    const s = await openAcceptorStore(dir);
    await fill0(s);
    await s.compact();
    await s.close();
    // Put back an "old generation" with different content: it must be ignored.
    const other = newDir();
    const o = await openAcceptorStore(other);
    o.append([accept(99, 9, [sub(1, 99, 'stale')])]);
    await o.close();
    await copyFile(join(other, 'acceptor-0000000001.log'), join(dir, 'acceptor-0000000001.log'));
    const r = await openAcceptorStore(dir);
    expect(r.metrics.staleFilesRemoved).to.equal(1);
    expect(r.recovered.accepted.map((e) => e.instance)).to.deep.equal([0, 1, 2]);
    await r.close();
    await mkdir(join(dir, 'unrelated'), { recursive: true }); // other entries are left alone
  });

  async function fill0(s: AcceptorStore): Promise<void> {
    s.append([0, 1, 2].map((i) => accept(i, 1, [sub(1, i, value16(i))])));
    await s.flush();
  }
});
