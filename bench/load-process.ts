/**
 * A load generator running as a child process, driven over a line-oriented
 * control channel: `mark` on its stdin makes it print one JSON line of its
 * counters, `stop` ends it. The unix and HTTP benches share it.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A load process and its control channel. */
export class LoadProcess<Mark> {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const w = this.waiting;
      if (w !== undefined) {
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /** The next line it prints; rejects after `timeoutMs` or when it exits first. */
  next(timeoutMs = 15_000): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the load process did not answer')), timeoutMs);
      const gone = (): void => { clearTimeout(timer); reject(new Error('the load process exited')); };
      void this.exited.then(gone);
      this.waiting = (l) => { clearTimeout(timer); resolve(l); };
    });
  }

  /** Its counters now. */
  async mark(): Promise<Mark> {
    const reply = this.next();
    this.child.stdin!.write('mark\n');
    return JSON.parse(await reply) as Mark;
  }

  /** Ask it to stop; killed when it has not exited after `killAfterMs`. */
  async stop(killAfterMs = 8000): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.end('stop\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    await this.exited;
    clearTimeout(timer);
  }
}
