/**
 * With `unref`, a cluster's workers and ports never keep the process alive by themselves; what
 * the application waits for still must (a submit in flight, `ready()`), or the process would exit
 * in the middle of an `await`. `KeepAlive` holds one referenced timer while anything is held.
 */
export class KeepAlive {
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly enabled: boolean) {}

  hold(): void {
    if (!this.enabled || this.holds++ > 0) return;
    this.timer = setInterval(() => undefined, 1 << 30);
  }

  release(): void {
    if (!this.enabled || --this.holds > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
