/** Running a Node script as a child process, for tests about how a process ends. */
import { spawn } from 'node:child_process';

export interface ChildResult {
  /** The exit code, or why there is none (`did not exit within …`, `signal`). */
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node ...args`; kills it (and says so in `code`) if it has not exited after `timeoutMs`. */
export async function runNode(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number | string>((resolve) => {
    timer = setTimeout(() => { child.kill('SIGKILL'); resolve(`did not exit within ${timeoutMs / 1000} s`); }, timeoutMs);
    child.on('exit', (c) => resolve(c ?? 'signal'));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr };
}
