/**
 * Micro-benchmark behind the in-process bus design: how fast can one worker hand protocol frames
 * to three others (the shape of `accept` → 3 acceptors)?
 *
 * Variants, all worker-to-worker:
 * - `bc-clone`:    one BroadcastChannel per group, frame posted as plain objects (structured clone,
 *                  serialized once by Node, deserialized by each receiver);
 * - `ports-clone`: one MessagePort per receiver, frame structured-cloned per port;
 * - `ports-v8`:    `v8.serialize` once into a Buffer, copied and *transferred* per port, receivers
 *                  `v8.deserialize`;
 * - `bc-json`:     JSON text posted on the BroadcastChannel, receivers `JSON.parse`
 *                  (strings only: JSON cannot carry Uint8Array, shown for reference);
 * - `ports-binary`: a hand-written binary codec for `accept`, encoded once into an ArrayBuffer,
 *                  copied and transferred per port.
 *
 * Reported per variant: frames/s (wall clock, sensitive to other load on the machine) and CPU
 * microseconds per value summed over all threads (`process.cpuUsage`, less sensitive to load), the
 * median of three runs.
 *
 * Run: `npx tsc -p . && node dist/benchmarks/bus-encoding.js [valuesPerRun]`.
 */
import { BroadcastChannel, MessageChannel, type MessagePort, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import { performance } from 'node:perf_hooks';

type Variant = 'bc-clone' | 'ports-clone' | 'ports-v8' | 'bc-json' | 'ports-binary';
const VARIANTS: Variant[] = ['bc-clone', 'ports-clone', 'ports-v8', 'bc-json', 'ports-binary'];
const RECEIVERS = 3;

interface Sub { client: number; seq: number; value: string }
interface Accept { type: 'accept'; ballot: { round: number; node: number }; instance: number; batch: Sub[] }

function makeFrame(instance: number, batchSize: number): { from: number; msgs: Accept[] } {
  const batch: Sub[] = [];
  for (let i = 0; i < batchSize; i++) batch.push({ client: 4_294_967_296 + 12345, seq: instance * batchSize + i, value: `value-${instance}-${i}-xxxxxx`.slice(0, 16) });
  return { from: 1, msgs: [{ type: 'accept', ballot: { round: 3, node: 4_294_967_296 * 1 + 777 }, instance, batch }] };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function encodeBinary(frame: { from: number; msgs: Accept[] }): ArrayBuffer {
  let size = 8;
  const texts: Uint8Array[] = [];
  for (const m of frame.msgs) {
    size += 32;
    for (const s of m.batch) {
      const t = enc.encode(s.value);
      texts.push(t);
      size += 20 + t.byteLength;
    }
  }
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let o = 0;
  view.setUint32(o, frame.from); o += 4;
  view.setUint32(o, frame.msgs.length); o += 4;
  let t = 0;
  for (const m of frame.msgs) {
    view.setFloat64(o, m.ballot.round); o += 8;
    view.setFloat64(o, m.ballot.node); o += 8;
    view.setFloat64(o, m.instance); o += 8;
    view.setUint32(o, m.batch.length); o += 4;
    o += 4;
    for (const s of m.batch) {
      view.setFloat64(o, s.client); o += 8;
      view.setFloat64(o, s.seq); o += 8;
      const text = texts[t++]!;
      view.setUint32(o, text.byteLength); o += 4;
      bytes.set(text, o); o += text.byteLength;
    }
  }
  return buf;
}

function decodeBinary(buf: ArrayBuffer): { from: number; msgs: Accept[] } {
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let o = 0;
  const from = view.getUint32(o); o += 4;
  const n = view.getUint32(o); o += 4;
  const msgs: Accept[] = [];
  for (let i = 0; i < n; i++) {
    const round = view.getFloat64(o); o += 8;
    const node = view.getFloat64(o); o += 8;
    const instance = view.getFloat64(o); o += 8;
    const count = view.getUint32(o); o += 8;
    const batch: Sub[] = [];
    for (let j = 0; j < count; j++) {
      const client = view.getFloat64(o); o += 8;
      const seq = view.getFloat64(o); o += 8;
      const len = view.getUint32(o); o += 4;
      batch.push({ client, seq, value: dec.decode(bytes.subarray(o, o + len)) }); o += len;
    }
    msgs.push({ type: 'accept', ballot: { round, node }, instance, batch });
  }
  return { from, msgs };
}

function receiverMain(): void {
  const { variant, channel, port, frames } = workerData as { variant: Variant; channel: string; port: MessagePort; frames: number };
  let received = 0;
  let checksum = 0;
  const done = (frame: { msgs: Accept[] }) => {
    received++;
    checksum += frame.msgs[0]!.batch.length;
    if (received === frames) parentPort!.postMessage(received);
  };
  if (variant.startsWith('bc')) {
    const bc = new BroadcastChannel(channel);
    bc.onmessage = (ev) => {
      const data = (ev as MessageEvent).data;
      done(variant === 'bc-json' ? JSON.parse(data as string) : data);
    };
    parentPort!.on('message', (m) => { if (m === 'stop') { bc.close(); port.close(); parentPort!.postMessage({ checksum }); } });
  } else {
    port.on('message', (data) => {
      if (variant === 'ports-clone') done(data);
      else if (variant === 'ports-v8') done(deserialize(new Uint8Array(data as ArrayBuffer)));
      else done(decodeBinary(data as ArrayBuffer));
    });
    parentPort!.on('message', (m) => { if (m === 'stop') { port.close(); parentPort!.postMessage({ checksum }); } });
  }
  parentPort!.postMessage('ready');
}

function senderMain(): void {
  const { variant, channel, ports, frames, batchSize } = workerData as {
    variant: Variant; channel: string; ports: MessagePort[]; frames: number; batchSize: number;
  };
  const bc = variant.startsWith('bc') ? new BroadcastChannel(channel) : undefined;
  let i = 0;
  const burst = () => {
    const end = Math.min(frames, i + 200);
    for (; i < end; i++) {
      const frame = makeFrame(i, batchSize);
      switch (variant) {
        case 'bc-clone': bc!.postMessage(frame); break;
        case 'bc-json': bc!.postMessage(JSON.stringify(frame)); break;
        case 'ports-clone': for (const p of ports) p.postMessage(frame); break;
        case 'ports-v8': {
          const bytes = serialize(frame);
          for (const p of ports) {
            const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
            p.postMessage(copy, [copy]);
          }
          break;
        }
        case 'ports-binary': {
          const buf = encodeBinary(frame);
          ports.forEach((p, k) => {
            const copy = k === ports.length - 1 ? buf : buf.slice(0);
            p.postMessage(copy, [copy]);
          });
          break;
        }
      }
    }
    if (i < frames) setImmediate(burst);
    else { bc?.close(); for (const p of ports) p.close(); parentPort!.postMessage('sent'); }
  };
  burst();
}

async function run(variant: Variant, frames: number, batchSize: number): Promise<{ framesPerSecond: number; cpuMicrosPerValue: number }> {
  const self = new URL(import.meta.url);
  const channel = `bench-${variant}-${batchSize}-${Math.random()}`;
  const pairs = Array.from({ length: RECEIVERS }, () => new MessageChannel());
  const receivers = pairs.map((pair) => new Worker(self, {
    workerData: { role: 'receiver', variant, channel, port: pair.port2, frames }, transferList: [pair.port2],
  }));
  const progress = receivers.map(() => 0);
  await Promise.all(receivers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
  const allReceived = new Promise<void>((resolve) => receivers.forEach((w, k) => w.on('message', (m) => {
    if (typeof m === 'number') {
      progress[k] = m;
      if (progress.every((p) => p >= frames)) resolve();
    }
  })));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const sender = new Worker(self, {
    workerData: { role: 'sender', variant, channel, ports: pairs.map((p) => p.port1), frames, batchSize },
    transferList: pairs.map((p) => p.port1),
  });
  await allReceived;
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await sender.terminate();
  await Promise.all(receivers.map((w) => w.terminate()));
  return { framesPerSecond: frames / (elapsed / 1000), cpuMicrosPerValue: (used.user + used.system) / (frames * batchSize) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const valuesPerRun = Number(process.argv[2] ?? 1_000_000);
  console.log(`bus encoding: 1 sender -> ${RECEIVERS} receivers, one accept per frame, ${valuesPerRun} values per run, node ${process.version}`);
  console.log('values/frame  variant        frames/s  values/s/receiver  CPU us/value (all threads)');
  for (const batchSize of [1, 16, 256, 1024]) {
    const frames = Math.max(200, Math.min(20_000, Math.round(valuesPerRun / batchSize)));
    for (const variant of VARIANTS) {
      await run(variant, Math.max(100, Math.round(frames / 10)), batchSize); // warm-up
      const runs = [await run(variant, frames, batchSize), await run(variant, frames, batchSize), await run(variant, frames, batchSize)];
      const fps = median(runs.map((r) => r.framesPerSecond));
      const cpu = median(runs.map((r) => r.cpuMicrosPerValue));
      console.log(`${String(batchSize).padStart(12)}  ${variant.padEnd(13)} ${fps.toFixed(0).padStart(9)} ${(fps * batchSize).toFixed(0).padStart(18)} ${cpu.toFixed(3).padStart(12)}`);
    }
  }
}

if (isMainThread) await main();
else if ((workerData as { role: string }).role === 'receiver') receiverMain();
else senderMain();
