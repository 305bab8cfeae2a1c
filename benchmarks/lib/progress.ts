/** A one-line progress indicator on stderr, only when stderr is a terminal. */
export class Progress {
  private done = 0;
  private label = '';
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  /** A new step begins. */
  step(label: string): void {
    if (this.label) this.done++;
    this.label = label;
    this.draw();
  }

  private draw(): void {
    if (!this.tty) return;
    const width = 24;
    const filled = Math.min(width, Math.round((this.done / this.total) * width));
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${secs}s ${this.label}`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 100) - 1)}`);
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }
}
