/** The lines a bench script's child process prints, handed to whoever waits for a given prefix (`READY`, `STATS`, ...). */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export class ChildLines {
  private readonly waiters: Array<{ prefix: string; resolve: (rest: string) => void }> = [];

  constructor(private readonly proc: ChildProcess) {
    if (!proc.stdout) throw new Error('the child was spawned without a stdout pipe');
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const index = this.waiters.findIndex((w) => line.startsWith(`${w.prefix} `) || line === w.prefix);
      if (index === -1) return;
      const [waiter] = this.waiters.splice(index, 1);
      waiter?.resolve(line.slice(waiter.prefix.length + 1));
    });
  }

  /** The rest of the next line that starts with `prefix`; rejects if the child exits first or none comes in time. */
  next(prefix: string, timeoutMs = 120_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const onExit = (code: number | null) => fail(new Error(`the child exited with ${code} before printing ${prefix}`));
      const timer = setTimeout(() => {
        this.proc.off('exit', onExit);
        reject(new Error(`no ${prefix} line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.proc.once('exit', onExit);
      this.waiters.push({
        prefix,
        resolve: (rest) => {
          clearTimeout(timer);
          this.proc.off('exit', onExit);
          resolve(rest);
        },
      });
    });
  }
}
