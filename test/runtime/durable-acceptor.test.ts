import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import type { Message, Outgoing } from '../../lib/protocol/messages.js';
import {
  type DurableAcceptor, type DurableAcceptorSettings, LOCK_FILE, openDurableAcceptor, releaseDataDirLock,
} from '../../lib/runtime/durable-acceptor.js';
import { RoleHost } from '../../lib/runtime/role-host.js';
import {
  type AcceptorRecord, type AcceptorStore, type AcceptorStoreOptions, DataDirInUseError, StorageCorruptionError,
  StorageUnavailableError, openAcceptorStore,
} from '../../lib/storage/index.js';
import type { Endpoint, Transport } from '../../lib/transport/transport.js';
import { batchOf, ofType, options, value } from '../protocol/harness.js';
import { ballot } from '../kit/ballot.js';
import { outgoing, writes } from '../kit/drain.js';
import { onDisk } from '../kit/store.js';
import { type TempDir, tempDir } from '../kit/temp-dir.js';
import { sleep } from '../kit/wait.js';

/** A transport that records what is sent and lets the test deliver messages. */
class FakeTransport implements Transport {
  readonly sent: Outgoing[] = [];
  private deliver: ((m: Message, to: Endpoint) => void) | undefined;
  private members: readonly Endpoint[] = [];
  start(members: readonly Endpoint[], deliver: (m: Message, to: Endpoint) => void): void {
    this.members = members;
    this.deliver = deliver;
  }
  send(_from: Endpoint, messages: readonly Outgoing[]): void { this.sent.push(...messages); }
  close(): void { this.deliver = undefined; }
  receive(m: Message): void { this.deliver!(m, this.members[0]!); }
}

/** A store whose flushes wait (before any I/O) until the test releases them. */
class HeldStore implements AcceptorStore {
  private gate: Promise<void> = Promise.resolve();
  private open: (() => void) | undefined;
  constructor(private readonly inner: AcceptorStore) {}
  /** Holds every flush from now on until the returned function is called. */
  hold(): () => void {
    this.gate = new Promise((resolve) => { this.open = resolve; });
    return () => { this.open?.(); this.gate = Promise.resolve(); };
  }
  get dir() { return this.inner.dir; }
  get sync() { return this.inner.sync; }
  get recovered() { return this.inner.recovered; }
  get logBytes() { return this.inner.logBytes; }
  get baseBytes() { return this.inner.baseBytes; }
  get metrics() { return this.inner.metrics; }
  append(records: readonly AcceptorRecord[]): void { this.inner.append(records); }
  flush(): Promise<void> { return this.gate.then(() => this.inner.flush()); }
  compact(): Promise<void> { return this.inner.compact(); }
  close(): Promise<void> { return this.inner.close(); }
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  await sleep(10);
};

/** A pid that no process has now: a child that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

async function expectRejects<E extends Error>(p: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    return e as E;
  }
  throw new Error(`expected ${type.name}`);
}

describe('Durable acceptor (lib/runtime/durable-acceptor)', () => {
  let root: TempDir;
  let open: DurableAcceptor[];
  beforeEach(() => {
    root = tempDir('paxos-durable-test-');
    open = [];
  });
  afterEach(async () => {
    await Promise.all(open.map((d) => d.close().catch(() => undefined)));
    root.remove();
  });
  const dirOf = (name = 'a0') => join(root.path, name);
  async function openAt(dir = dirOf(), settings?: DurableAcceptorSettings): Promise<DurableAcceptor> {
    const d = await openDurableAcceptor(0, options(), dir, 'batch', settings);
    open.push(d);
    return d;
  }

  it('answers leave the host only after the writes they reveal are durable (group commit through RoleHost)', async () => {
    let held: HeldStore | undefined;
    const openStore = async (dir: string, o: AcceptorStoreOptions) => (held = new HeldStore(await openAcceptorStore(dir, o)));
    const durable = await openAt(dirOf(), { openStore });
    const transport = new FakeTransport();
    const errors: unknown[] = [];
    const storage = durable.storage((e) => errors.push(e));
    const host = new RoleHost([{ role: durable.acceptor, storage }], transport, { now: () => performance.now(), tickMs: 60_000 });
    await host.start();
    try {
      await heldAnswers(storage, transport, held!, errors);
    } finally {
      await host.stop(); // also on failure: its timer would keep mocha alive
    }
  });

  async function heldAnswers(storage: { drained(): Promise<void> }, transport: FakeTransport, held: HeldStore, errors: unknown[]): Promise<void> {
    const release = held.hold();
    transport.receive({ type: 'prepare', ballot: ballot(5, 1), from: 0 });
    await turns();
    transport.receive({ type: 'accept', ballot: ballot(5, 1), instance: 0, batch: batchOf(value(1, 0)) });
    await turns();
    // Both answers wait; the disk does not have the promise yet (the flush has not even started).
    expect(transport.sent).to.deep.equal([]);
    expect((await onDisk(dirOf())).accepted).to.deep.equal([]);
    release();
    await turns();
    await storage.drained();
    expect(transport.sent.map((o) => o.message.type)).to.deep.equal(['promise', 'accepted', 'accepted']);
    const disk = await onDisk(dirOf());
    expect(disk.promised).to.deep.equal(ballot(5, 1));
    expect(disk.accepted.map((e) => e.instance)).to.deep.equal([0]);
    // A turn that wrote nothing costs no I/O: no fsync, no write.
    const before = [held.metrics.fsyncs, held.metrics.writes];
    transport.receive({ type: 'heartbeat', from: 1, ballot: ballot(5, 1), leading: true, decided: 0, quorum: true });
    await turns();
    await storage.drained();
    expect([held.metrics.fsyncs, held.metrics.writes]).to.deep.equal(before);
    expect(errors).to.deep.equal([]);
  }

  it('P1a across a restart: a promise persisted before the restart refuses a lower ballot after it', async () => {
    const a = await openAt();
    a.acceptor.handle({ type: 'prepare', ballot: ballot(5, 1), from: 0 });
    a.acceptor.handle({ type: 'accept', ballot: ballot(5, 1), instance: 3, batch: batchOf(value(1, 3)) });
    await a.persist(writes(a.acceptor));
    await a.close();
    const b = await openAt();
    expect(b.store.recovered).to.deep.equal(a.acceptor.snapshot());
    b.acceptor.handle({ type: 'accept', ballot: ballot(3, 2), instance: 4, batch: batchOf(value(2, 4)) });
    b.acceptor.handle({ type: 'prepare', ballot: ballot(4, 2), from: 0 });
    const out = outgoing(b.acceptor);
    expect(ofType(out, 'accepted')).to.have.length(0);
    expect(ofType(out, 'promise')).to.have.length(0);
    expect(ofType(out, 'nack').map((n) => n.promised)).to.deep.equal([ballot(5, 1), ballot(5, 1)]);
    expect(writes(b.acceptor)).to.deep.equal([]); // refusals write nothing
  });

  it('a trim survives a restart: trimmed instances stay forgotten and the promise reports the snapshot', async () => {
    const snapshot = { instance: 2, position: 7, nextClient: 10, clients: [{ client: 1, low: 2, above: [5], active: 1 }, { client: 9, low: 0, above: [], active: 0 }] };
    const a = await openAt();
    for (const instance of [0, 1, 2, 3]) {
      a.acceptor.handle({ type: 'accept', ballot: ballot(1, 1), instance, batch: batchOf(value(1, instance)) });
    }
    a.acceptor.handle({ type: 'trim', snapshot: { ...snapshot, part: 0, parts: 1 } });
    await a.persist(writes(a.acceptor));
    await a.close();
    const b = await openAt();
    expect(b.store.recovered.trimmed).to.deep.equal(snapshot);
    b.acceptor.handle({ type: 'prepare', ballot: ballot(2, 2), from: 0 });
    const chunks = ofType(outgoing(b.acceptor), 'promise');
    expect(chunks.map((c) => c.trimmed).filter(Boolean)).to.deep.equal([{ ...snapshot, part: 0, parts: 1 }]);
    expect(chunks.flatMap((c) => c.accepted.map((e) => e.instance))).to.deep.equal([2, 3]);
  });

  it('refuses a directory already open in this thread, under any spelling, until it is closed', async () => {
    const a = await openAt();
    const err = await expectRejects(openAt(join(root.path, '.', 'a0', '..', 'a0')), DataDirInUseError);
    expect(err.code).to.equal('ERR_PAXOS_DATA_DIR_IN_USE');
    expect(err.message).to.contain('this thread');
    const lock = JSON.parse(await readFile(join(dirOf(), LOCK_FILE), 'utf8')) as { pid: number; thread: number };
    expect([lock.pid, lock.thread]).to.deep.equal([process.pid, threadId]);
    await a.close();
    await expectRejects(stat(join(dirOf(), LOCK_FILE)), Error); // released
    await (await openAt()).close();
  });

  it('lock file: refuses a live process or another thread of this one, takes over a stale lock', async () => {
    const lockFile = join(dirOf(), LOCK_FILE);
    await (await openAt()).close(); // creates the directory
    // A live process (our parent) holds it.
    await writeFile(lockFile, JSON.stringify({ pid: process.ppid, thread: 0 }));
    const live = await expectRejects(openAt(), DataDirInUseError);
    expect(live.message).to.contain(`process ${process.ppid}`).and.to.contain(lockFile);
    // Another thread of this process holds it: refused until a supervisor releases it.
    await writeFile(lockFile, JSON.stringify({ pid: process.pid, thread: threadId + 1000 }));
    expect((await expectRejects(openAt(), DataDirInUseError)).message).to.contain(`thread ${threadId + 1000} of this process`);
    await releaseDataDirLock(dirOf());
    await (await openAt()).close();
    // Stale: a dead pid, our pid from an earlier process (other start time), garbage.
    for (const content of [
      JSON.stringify({ pid: await deadPid(), thread: 0 }),
      JSON.stringify({ pid: process.pid, start: '1', thread: threadId + 1000 }),
      'not json',
    ]) {
      await writeFile(lockFile, content);
      const d = await openAt();
      expect(JSON.parse(await readFile(lockFile, 'utf8')).pid, content).to.equal(process.pid);
      await d.close();
    }
  });

  it('a corrupt log is reported, never used, and leaves the directory unlocked', async () => {
    const a = await openAt();
    a.acceptor.handle({ type: 'prepare', ballot: ballot(5, 1), from: 0 });
    await a.persist(writes(a.acceptor));
    await a.close();
    const log = join(dirOf(), 'acceptor-0000000001.log');
    const pristine = await readFile(log);
    const damaged = Buffer.from(pristine);
    damaged[0] = 0;
    await writeFile(log, damaged);
    const err = await expectRejects(openAt(), StorageCorruptionError);
    expect(err.message).to.contain(log);
    await expectRejects(stat(join(dirOf(), LOCK_FILE)), Error);
    await writeFile(log, pristine);
    expect((await openAt()).store.recovered.promised).to.deep.equal(ballot(5, 1));
  });

  it('compacts in the background after trims once the log outgrows its base, one compaction at a time', async () => {
    let store: AcceptorStore | undefined;
    let running = 0;
    let most = 0;
    const openStore = async (dir: string, o: AcceptorStoreOptions) => {
      const s = await openAcceptorStore(dir, o);
      const compact = s.compact.bind(s);
      s.compact = async () => {
        most = Math.max(most, ++running);
        try { await compact(); } finally { running--; }
      };
      return (store = s);
    };
    const d = await openAt(dirOf(), { openStore, compaction: { factor: 2, slackBytes: 10_000 } });
    const accept = (instance: number) => d.acceptor.handle(
      { type: 'accept', ballot: ballot(1, 1), instance, batch: batchOf(value(1, instance, 'x'.repeat(100))) });
    const persists: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      accept(i);
      persists.push(d.persist(writes(d.acceptor)));
    }
    expect(store!.metrics.compactions).to.equal(0); // no trim yet: nothing to gain
    for (let i = 400; i < 1000; i++) {
      accept(i);
      if (i % 50 === 0) d.acceptor.handle({ type: 'trim', snapshot: { instance: i - 20, position: i - 20, nextClient: 1, clients: [], part: 0, parts: 1 } });
      persists.push(d.persist(writes(d.acceptor)));
      if (i % 10 === 0) await turns(1);
    }
    await Promise.all(persists);
    await d.close();
    expect(store!.metrics.compactions).to.be.at.least(1);
    expect(most).to.equal(1);
    const s = await openAcceptorStore(dirOf());
    expect(s.recovered).to.deep.equal(d.acceptor.snapshot());
    expect(s.logBytes).to.be.below(1000 * 100);
    await s.close();
  });

  it('a failed background compaction makes persist() reject for good', async () => {
    const d = await openAt(dirOf(), {
      compaction: { factor: 1, slackBytes: 0 },
      storeOptions: { onCompactStep: (step) => { if (step === 'temp-synced') throw new Error('disk full'); } },
    });
    for (let i = 0; i < 10; i++) {
      d.acceptor.handle({ type: 'accept', ballot: ballot(1, 1), instance: i, batch: batchOf(value(1, i)) });
    }
    await d.persist(writes(d.acceptor));
    d.acceptor.handle({ type: 'trim', snapshot: { instance: 5, position: 5, nextClient: 1, clients: [], part: 0, parts: 1 } });
    await d.persist(writes(d.acceptor)).catch(() => undefined); // starts the compaction (this flush may or may not beat it)
    await turns();
    await expectRejects(d.persist(writes(d.acceptor)), StorageUnavailableError);
    d.acceptor.handle({ type: 'prepare', ballot: ballot(9, 1), from: 0 });
    await expectRejects(d.persist(writes(d.acceptor)), StorageUnavailableError);
  });
});
