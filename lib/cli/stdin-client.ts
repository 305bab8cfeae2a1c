/**
 * A CLI client: values from stdin, one per line, submitted with at most `maxOutstanding`
 * undecided at once (stdin pauses meanwhile), and a call to `done` once input ended and every
 * value is decided.
 */
import { performance } from 'node:perf_hooks';
import { type Client, ValueTooLargeError } from '../protocol/client.js';
import { SESSION_EXPIRED } from '../protocol/messages.js';
import type { Completion } from '../protocol/role.js';
import type { RoleHost } from '../runtime/role-host.js';
import { stderr } from './output.js';

export interface StdinClientSettings {
  readonly maxOutstanding: number;
  /** Prefix of stderr lines. */
  readonly tag: string;
  readonly log?: (line: string) => void;
  /** Input ended and every value is decided; `rejected` lines were too large to submit. */
  readonly done: (completed: number, rejected: number) => void;
}

export class StdinClient {
  private lines: string[] = [];
  private head = 0;
  private carry = '';
  private ended = false;
  private paused = false;
  private rejected = 0;
  private completed = 0;
  private finished = false;

  constructor(private readonly client: Client, private readonly host: RoleHost, private readonly settings: StdinClientSettings) {}

  /** Start reading stdin (once the host runs). */
  start(): void {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => this.onData(chunk));
    process.stdin.on('end', () => {
      if (this.carry) this.lines.push(this.carry);
      this.carry = '';
      this.ended = true;
      this.settings.log?.(`end of input: ${this.lines.length - this.head + this.client.metrics.submitted} lines read, ` +
        `${Math.round(performance.now())} ms after process start`);
      this.feed();
    });
    process.stdin.on('error', (err) => {
      stderr(`${this.settings.tag} stdin: ${err.message}`);
      this.ended = true;
      this.feed();
    });
  }

  /** The client's completions (from its Ready). */
  complete(done: readonly Completion[]): void {
    if (done.length === 0) return;
    this.completed += done.length;
    const expired = done.filter((c) => c.position === SESSION_EXPIRED).length;
    if (expired) stderr(`${this.settings.tag} ${expired} value(s) ended with their session expired: each delivered at most once, maybe not at all`);
    if (this.head < this.lines.length && this.client.pendingCount < this.settings.maxOutstanding) setImmediate(() => this.feed());
    else this.finishIfDone();
  }

  private onData(chunk: string): void {
    const parts = (this.carry + chunk).split('\n');
    this.carry = parts.pop()!;
    if (parts.length) {
      if (this.head === 0 && this.lines.length === 0) this.lines = parts;
      else for (const p of parts) this.lines.push(p);
    }
    this.feed();
    if (this.head < this.lines.length && !this.paused) {
      this.paused = true;
      process.stdin.pause();
    }
  }

  private feed(): void {
    const { maxOutstanding } = this.settings;
    if (this.head < this.lines.length && this.client.pendingCount < maxOutstanding) {
      this.host.act(this.client, (client, now) => {
        while (this.head < this.lines.length && client.pendingCount < maxOutstanding) this.submit(client, this.lines[this.head++]!, now);
      });
    }
    if (this.head >= this.lines.length) {
      this.lines = [];
      this.head = 0;
      if (this.paused && !this.ended) {
        this.paused = false;
        process.stdin.resume();
      }
    }
    this.finishIfDone();
  }

  private submit(client: Client, line: string, now: number): void {
    const value = line.endsWith('\r') ? line.slice(0, -1) : line;
    try {
      client.submit(value, now);
    } catch (err) {
      if (!(err instanceof ValueTooLargeError)) throw err;
      this.rejected++;
      stderr(`${this.settings.tag} line skipped: ${err.message}`);
    }
  }

  private finishIfDone(): void {
    if (this.finished || !this.ended || this.head < this.lines.length || this.client.pendingCount > 0) return;
    this.finished = true;
    this.settings.done(this.completed, this.rejected);
  }
}
