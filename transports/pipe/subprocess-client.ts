/**
 * The subprocess client: spawn a server process and talk to it over its
 * stdin/stdout; its stderr is forwarded line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ClientTransport } from '../../src/client/connection.js';
import { framesFrom, writerTo } from '../../runtime/node-stream-io.js';

/** A client transport over a spawned server, plus the child process. */
export interface SubprocessTransport extends ClientTransport {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the child has exited. */
  readonly exited: Promise<number | null>;
}

/** Options of `spawnServer`. */
export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Receives each stderr line of the child (default: forwarded to our stderr). */
  readonly onStderr?: (line: string) => void;
}

/** Spawn `command args...` and return a client transport on its pipes. */
export const spawnServer = (command: string, args: readonly string[], options: SpawnOptions = {}): SubprocessTransport => {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
  const onLine = options.onStderr ?? ((l: string) => process.stderr.write(`[server] ${l}\n`));
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin!.on('error', () => undefined);
  return {
    child,
    exited,
    frames: framesFrom(child.stdout!),
    write: writerTo(child.stdin!),
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
};
