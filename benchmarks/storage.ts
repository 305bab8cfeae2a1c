/**
 * Acceptor storage throughput: records/s and fsyncs per record for each sync policy, with one
 * 16-byte value per record and with batches of 64 such values, for 1 and 64 answers in flight
 * (each "answer" appends one accept record, then awaits flush(), as an acceptor does before it
 * replies). Optionally the same workload on lmdb, for the comparison in docs/storage.md.
 *
 * Usage: node dist/benchmarks/storage.js [--seconds 2] [--dir /tmp] [--lmdb /path/to/node_modules/lmdb]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Batch } from '../lib/protocol/messages.js';
import { openAcceptorStore, type SyncPolicy } from '../lib/storage/index.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const seconds = Number(arg('seconds') ?? 2);
const base = arg('dir') ?? tmpdir();
const lmdbPath = arg('lmdb');

const POLICIES: SyncPolicy[] = ['always', 'batch', 'none'];
const SHAPES = [{ values: 1, label: '1 x 16 B' }, { values: 64, label: '64 x 16 B' }];
const IN_FLIGHT = [1, 64];

function batchOf(values: number, instance: number): Batch {
  const batch = [];
  for (let v = 0; v < values; v++) batch.push({ client: 1, seq: instance * values + v, value: `v${String(instance).padStart(9, '0')}-${String(v).padStart(5, '0')}`.slice(0, 16) });
  return batch;
}

interface Result { engine: string; sync: string; shape: string; inFlight: number; records: number; recordsPerSec: number; valuesPerSec: number; fsyncsPerRecord: number | string }

async function runLog(sync: SyncPolicy, values: number, inFlight: number): Promise<Result> {
  const dir = await mkdtemp(join(base, 'paxos-store-bench-'));
  const store = await openAcceptorStore(dir, { sync });
  const fsyncs0 = store.metrics.fsyncs;
  const ballot = { round: 1, node: 2 ** 32 };
  let instance = 0;
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = instance++;
      store.append([{ kind: 'accept', instance: i, ballot, batch: batchOf(values, i) }]);
      await store.flush();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const fsyncs = store.metrics.fsyncs - fsyncs0;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return {
    engine: 'log', sync, shape: `${values} x 16 B`, inFlight, records: done, recordsPerSec: Math.round(done / elapsed),
    valuesPerSec: Math.round((done * values) / elapsed), fsyncsPerRecord: +(fsyncs / done).toFixed(3),
  };
}

interface LmdbDb {
  readonly flushed: Promise<boolean>;
  put(key: number, value: unknown): Promise<boolean>;
  putSync(key: number, value: unknown): boolean;
  get(key: number): unknown;
  close(): Promise<void>;
}

/** lmdb-js: `always` = putSync (one synced transaction per record); `batch` = async put then
 *  `db.flushed` (lmdb-js groups concurrent puts into one transaction and sync); `none` = async
 *  put with noSync. */
async function runLmdb(sync: SyncPolicy, values: number, inFlight: number): Promise<Result> {
  const lmdb = (await import(pathToFileURL(join(lmdbPath!, 'dist', 'index.cjs')).href)) as { open(o: object): LmdbDb };
  const dir = await mkdtemp(join(base, 'paxos-lmdb-bench-'));
  const db = lmdb.open({ path: join(dir, 'acceptor.mdb'), noSync: sync === 'none' });
  const ballot = { round: 1, node: 2 ** 32 };
  let instance = 0;
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = instance++;
      const value = { ballot, batch: batchOf(values, i) };
      if (sync === 'always') {
        db.putSync(i, value);
        await null;
      } else {
        await db.put(i, value);
        // With overlappingSync (lmdb-js's default on Linux) put resolves at commit; durability
        // comes with `flushed`.
        if (sync === 'batch') await db.flushed;
      }
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  await db.close();
  await rm(dir, { recursive: true, force: true });
  return {
    engine: 'lmdb', sync, shape: `${values} x 16 B`, inFlight, records: done, recordsPerSec: Math.round(done / elapsed),
    valuesPerSec: Math.round((done * values) / elapsed), fsyncsPerRecord: 'n/a',
  };
}

const results: Result[] = [];
for (const engine of lmdbPath ? ['log', 'lmdb'] : ['log']) {
  for (const sync of POLICIES) {
    for (const shape of SHAPES) {
      for (const inFlight of IN_FLIGHT) {
        const r = engine === 'log' ? await runLog(sync, shape.values, inFlight) : await runLmdb(sync, shape.values, inFlight);
        results.push(r);
        console.log(JSON.stringify(r));
      }
    }
  }
}
console.log('\n| engine | sync | record | in flight | records/s | values/s | fsyncs/record |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(`| ${r.engine} | ${r.sync} | ${r.shape} | ${r.inFlight} | ${r.recordsPerSec.toLocaleString('en-US')} | ${r.valuesPerSec.toLocaleString('en-US')} | ${r.fsyncsPerRecord} |`);
}
