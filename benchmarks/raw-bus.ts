/**
 * The physical limit the cluster runs on: the in-process bus (`BusTransport`, the exact class every
 * cluster worker uses) between two worker threads, with no protocol on either side.
 *
 * - one-way stream: the sender posts `accept` messages of `batch` values each, one `send()` (so
 *   one port message) per message, with at most `window` unacknowledged; the receiver only counts
 *   and acknowledges every 64th message. Messages/s and values/s, sender clock, first send to last
 *   acknowledgement.
 * - round trip: one small message out, one back, `count` times in a row; the receiver answers from
 *   its delivery callback. Median and p99 in microseconds, from Node's HdrHistogram
 *   (`perf_hooks.createHistogram()`) of the round trips in whole nanoseconds.
 *
 * This file is both the main-thread driver (`RawBus`) and the worker (when not the main thread).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createHistogram, performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { BusTransport } from '../lib/transport/bus.js';
import type { AcceptMessage, Destination, Message, Submission } from '../lib/protocol/messages.js';

const TOPOLOGY = { clients: 0, proposers: 1, acceptors: 1, learners: 0 } as const;
const TO_RECEIVER: Destination = { group: 'acceptors' };
const TO_SENDER: Destination = { group: 'proposers' };
const ACK_EVERY = 64;

type Command =
  | { cmd: 'stream'; count: number; batch: number; valueBytes: number; window: number }
  | { cmd: 'rtt'; count: number }
  | { cmd: 'stop' };

export interface StreamResult {
  messagesPerSec: number;
  valuesPerSec: number;
  seconds: number;
}

export interface RttResult {
  medianMicros: number;
  p99Micros: number;
}

/** Two bus workers (sender = proposer 0, receiver = acceptor 0) kept alive across repetitions. */
export class RawBus {
  private constructor(private readonly sender: Worker, private readonly receiver: Worker) {}

  static async start(): Promise<RawBus> {
    const namespace = `raw-${randomUUID()}`;
    const url = new URL(import.meta.url);
    const spawn = (role: 'sender' | 'receiver') => new Worker(url, { workerData: { role, namespace } });
    const receiver = spawn('receiver');
    const sender = spawn('sender');
    await Promise.all([receiver, sender].map((w) => new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    })));
    return new RawBus(sender, receiver);
  }

  private ask<R>(command: Command, timeoutMs: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw bus: ${command.cmd} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.sender.once('message', (r: R) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sender.postMessage(command);
    });
  }

  stream(count: number, batch: number, valueBytes: number, window = 1024, timeoutMs = 60_000): Promise<StreamResult> {
    return this.ask({ cmd: 'stream', count, batch, valueBytes, window }, timeoutMs);
  }

  rtt(count: number, timeoutMs = 60_000): Promise<RttResult> {
    return this.ask({ cmd: 'rtt', count }, timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all([this.sender.terminate(), this.receiver.terminate()]);
  }
}

// ------------------------------------------------------------------------------------ workers

function receiverMain(namespace: string): void {
  const transport = new BusTransport({ namespace, topology: TOPOLOGY });
  const self = { group: 'acceptors', id: 0 } as const;
  transport.start([self], (m: Message) => {
    if (m.type === 'heartbeat') {
      transport.send(self, [{ to: TO_SENDER, message: m }]);
    } else if (m.type === 'accept') {
      // ballot.round carries the stream's length, so the last message is acknowledged too.
      if ((m.instance + 1) % ACK_EVERY === 0 || m.instance === m.ballot.round - 1) {
        transport.send(self, [{ to: TO_SENDER, message: { type: 'accepted', ballot: m.ballot, instance: m.instance, acceptor: 0 } }]);
      }
    }
  });
  parentPort!.postMessage('ready');
}

function senderMain(namespace: string): void {
  const transport = new BusTransport({ namespace, topology: TOPOLOGY });
  let onMessage: (m: Message) => void = () => {};
  const self = { group: 'proposers', id: 0 } as const;
  transport.start([self], (m) => onMessage(m));

  const stream = (c: Extract<Command, { cmd: 'stream' }>): void => {
    const batch: Submission[] = [];
    const value = 'v'.repeat(c.valueBytes);
    for (let i = 0; i < c.batch; i++) batch.push({ client: 4_294_967_297, seq: i, value });
    const ballot = { round: c.count, node: 4_294_967_296 };
    let next = 0;
    let acked = 0;
    const started = performance.now();
    const pump = (): void => {
      while (next < c.count && next - acked < c.window) {
        const message: AcceptMessage = { type: 'accept', ballot, instance: next++, batch };
        transport.send(self, [{ to: TO_RECEIVER, message }]);
      }
    };
    onMessage = (m) => {
      if (m.type !== 'accepted') return;
      acked = Math.max(acked, m.instance + 1);
      if (acked >= c.count) {
        const seconds = (performance.now() - started) / 1000;
        onMessage = () => {};
        parentPort!.postMessage({ messagesPerSec: c.count / seconds, valuesPerSec: (c.count * c.batch) / seconds, seconds } satisfies StreamResult);
      } else {
        pump();
      }
    };
    pump();
  };

  const rtt = (count: number): void => {
    const hist = createHistogram();
    let i = 0;
    let sentAt = 0;
    const ping: Message = { type: 'heartbeat', from: 0, ballot: { round: 0, node: 0 }, leading: false, decided: 0, quorum: false };
    const send = (): void => {
      sentAt = performance.now();
      transport.send(self, [{ to: TO_RECEIVER, message: ping }]);
    };
    onMessage = (m) => {
      if (m.type !== 'heartbeat') return;
      // Whole nanoseconds, at least 1: a RecordableHistogram takes only integers >= 1.
      hist.record(Math.max(1, Math.round((performance.now() - sentAt) * 1e6)));
      i++;
      if (i < count) {
        send();
        return;
      }
      onMessage = () => {};
      parentPort!.postMessage({ medianMicros: hist.percentile(50) / 1000, p99Micros: hist.percentile(99) / 1000 } satisfies RttResult);
    };
    send();
  };

  parentPort!.on('message', (c: Command) => {
    if (c.cmd === 'stream') stream(c);
    else if (c.cmd === 'rtt') rtt(c.count);
    else transport.close();
  });
  parentPort!.postMessage('ready');
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role) {
  const { role, namespace } = workerData as { role: 'sender' | 'receiver'; namespace: string };
  if (role === 'sender') senderMain(namespace);
  else receiverMain(namespace);
}
