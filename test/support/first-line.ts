/**
 * Spawning a worker process that announces itself on its first stdout line
 * (`UNIX:<path>`, `TCP:<host>:<port>`): the line, or null when the process
 * exits first, and its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** The spawned process, its first stdout line (null if it exited before writing one) and its exit. */
export interface FirstLine {
  readonly child: ChildProcess;
  readonly line: string | null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run `node script args...`, hand its stderr to `watchStderr`, and wait for its first stdout line or its exit. */
export const spawnFirstLine = async (script: string, args: readonly string[], watchStderr: (stderr: Readable) => void): Promise<FirstLine> => {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  watchStderr(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string | null>((resolve) => {
    lines.once('line', resolve);
    void exited.then(() => resolve(null));
  });
  return { child, line, exited };
};
