/**
 * The machine's floor for stdio round trips: a bare echo between two Node
 * processes with 200-byte messages, sequential. No RPC can beat it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Sequential 200-byte round trips per second through a bare stdio echo child. */
export const measureStdioFloor = async (durationMs = 2000): Promise<number> => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./echo-child.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const msg = Buffer.alloc(200, 1);
  let pending: (() => void) | undefined;
  let got = 0;
  child.stdout.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 200) {
      got -= 200;
      pending?.();
    }
  });
  const once = (): Promise<void> => new Promise((resolve) => { pending = resolve; child.stdin.write(msg); });
  for (let i = 0; i < 2000; i++) await once();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < durationMs) {
    await once();
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  child.stdin.end();
  return rate;
};
