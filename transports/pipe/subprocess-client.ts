/**
 * The subprocess client: spawn a server process and talk to it over its
 * stdin/stdout; its stderr is forwarded line by line. Requests go down a
 * pipe; on Linux the child's stdout is one end of a unix socket pair, so
 * responses (the large direction: producer batches) are read straight into
 * the frame reader, without a buffer allocated per read, and through a
 * socket buffer larger than a pipe's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ClientTransport } from '../../src/client/connection.js';
import { framesFrom, writerTo } from '../../runtime/node-stream-io.js';
import { type SocketPair, socketPair, socketPairsAvailable } from './socket-pair.js';

/** A client transport over a spawned server, plus the child process. */
export interface SubprocessTransport extends ClientTransport {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the child has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves once the child is running; rejects with the spawn error (e.g. ENOENT for a missing command). */
  readonly started: Promise<void>;
}

/** Options of `spawnServer`. */
export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Receives each stderr line of the child (default: forwarded to our stderr). */
  readonly onStderr?: (line: string) => void;
  /** Give the child a pipe as stdout even where a socket pair is available (default false). */
  readonly stdoutPipe?: boolean;
  /**
   * Start the child in a process group of its own (default false), so a
   * terminal's Ctrl-C reaches only us: the caller decides how the server
   * learns of it (a cancelled stream, then stdin closed).
   */
  readonly detached?: boolean;
}

/** Spawn `command args...` and return a client transport on its stdin and stdout. */
export const spawnServer = async (command: string, args: readonly string[], options: SpawnOptions = {}): Promise<SubprocessTransport> => {
  const pair: SocketPair | undefined = socketPairsAvailable && options.stdoutPipe !== true ? await socketPair() : undefined;
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['pipe', pair?.far ?? 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd, detached: options.detached === true });
  } catch (e) {
    pair?.near.destroy();
    throw e;
  } finally {
    // The child has its own copy of the far end; closing ours does not shut the connection down.
    pair?.far.destroy();
  }
  const onLine = options.onStderr ?? ((l: string) => process.stderr.write(`[server] ${l}\n`));
  createInterface({ input: child.stderr! }).on('line', onLine);
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  started.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A child that never started has no 'exit'.
    started.catch(() => resolve(null));
  });
  child.stdin!.on('error', () => undefined);
  return {
    child,
    exited,
    started,
    frames: pair?.frames ?? framesFrom(child.stdout!),
    write: writerTo(child.stdin!),
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
};
