/**
 * A client worker's side of `submit()`: values arrive on the submission port with the ids the
 * main thread gave them, go into the client in one host step per request, and each value's
 * position goes back (batched per turn) once the client learns it.
 */
import { randomBytes } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { type Client, ValueTooLargeError } from '../protocol/client.js';
import type { Payload } from '../protocol/messages.js';
import type { Completion, PassedBarrier } from '../protocol/role.js';
import type { RoleHost } from '../runtime/role-host.js';
import type { SubmitReply, SubmitRequest } from './worker-protocol.js';

type Failure = [id: number, code: string, message: string, size?: number, limit?: number];

export class SubmitPort {
  /** Client seq → the id the main thread gave the value. */
  private readonly submitted = new Map<number, number>();
  /** Read barrier token → the id the main thread gave the barrier. */
  private readonly barriers = new Map<string, number>();
  /** Decided values this turn as (id, position) pairs, sent as one `Float64Array`. */
  private done: number[] = [];
  private replyScheduled = false;
  private open = true;

  constructor(private readonly port: MessagePort, client: Client, host: RoleHost) {
    port.on('message', (request: SubmitRequest) => {
      if (!this.open) return;
      const failed = host.act(client, (c, now) => {
        for (const id of request.barriers ?? []) {
          const token = randomBytes(8).toString('hex');
          this.barriers.set(token, id);
          c.barrier(token, now);
        }
        return this.submitAll(c, request, now);
      });
      if (failed.length) port.postMessage({ failed } satisfies SubmitReply);
    });
  }

  /** The client's completions: answer the main thread once per turn. */
  complete(completions: readonly Completion[]): void {
    for (const c of completions) this.settle(this.submitted, c.seq, c.position);
    this.scheduleReply();
  }

  /** Read barriers answered: they travel with the values' (id, position) pairs. */
  passed(barriers: readonly PassedBarrier[]): void {
    for (const b of barriers) this.settle(this.barriers, b.token, b.position);
    this.scheduleReply();
  }

  /** The main thread's id for `key` gets its position (once). */
  private settle<K>(ids: Map<K, number>, key: K, position: number): void {
    const id = ids.get(key);
    if (id === undefined) return;
    ids.delete(key);
    this.done.push(id, position);
  }

  private scheduleReply(): void {
    if (this.done.length && !this.replyScheduled) {
      this.replyScheduled = true;
      setImmediate(() => this.reply());
    }
  }

  close(): void {
    this.open = false;
    this.port.close();
  }

  private submitAll(client: Client, request: SubmitRequest, now: number): Failure[] {
    const failed: Failure[] = [];
    request.values.forEach((value: Payload, k: number) => {
      const id = request.ids[k]!;
      try {
        this.submitted.set(client.submit(value, now), id);
      } catch (e) {
        const err = e as Error & { code?: string };
        if (err instanceof ValueTooLargeError) failed.push([id, err.code, err.message, err.size, err.limit]);
        else failed.push([id, err.code ?? 'ERR_PAXOS_SUBMIT', err.message]);
      }
    });
    return failed;
  }

  private reply(): void {
    this.replyScheduled = false;
    if (!this.done.length || !this.open) return;
    const done = Float64Array.from(this.done);
    this.done = [];
    // Transferred, not copied: the pairs are bytes the main thread reads once.
    this.port.postMessage({ done } satisfies SubmitReply, [done.buffer]);
  }
}
