/**
 * Independent descriptors of one listening socket, for worker threads that
 * accept on it directly. Each copy is a descriptor of its own: a worker that
 * closes its copy (on drain) or dies (its thread's handles are closed) stops
 * only its own accepting; the socket keeps listening for the others.
 *
 * The copies come from a short-lived child process (REFLECTOR) because Node
 * has no dup(): it receives one raw handle over its IPC channel and sends
 * it back as often as asked, and every handle that crosses an IPC channel
 * arrives as a new descriptor (SCM_RIGHTS). The main thread keeps each copy's raw handle object
 * alive and never closes it: the worker owns the descriptor, and closing the
 * main thread's handle would close the worker's listener. One small object
 * per worker start stays behind until the process exits.
 */
import { spawn } from 'node:child_process';

/** The native handle of a listening socket (Node's TCP or Pipe wrap); only its descriptor is read here. */
export interface RawHandle {
  readonly fd: number;
  close(cb?: () => void): void;
}

/** The reflector's program (CommonJS, run with `node -e`, so it needs no file of its own). */
const REFLECTOR = `
process.on('message', (m, handle) => {
  let left = m.copies;
  const next = (e) => {
    if (e || left-- === 0) { process.exitCode = e ? 1 : 0; process.disconnect(); return; }
    process.send({ copy: m.copies - left }, handle, {}, next);
  };
  next(null);
});`;

/** Raw handles the main thread must keep alive (see the module comment). */
const handedOut: RawHandle[] = [];

/** The listening native handle of a bound `net.Server`. */
export const handleOf = (server: import('node:net').Server): RawHandle => {
  const handle = (server as unknown as { _handle?: RawHandle | null })._handle;
  if (handle === undefined || handle === null || typeof handle.fd !== 'number' || handle.fd < 0) {
    throw new Error('the server is not listening on a descriptor that can be shared');
  }
  return handle;
};

/** `copies` new raw handles (each its own descriptor) of the listening socket behind `handle`. */
export const duplicateListener = async (handle: RawHandle, copies: number): Promise<RawHandle[]> => {
  const child = spawn(process.execPath, ['-e', REFLECTOR], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
  const received: RawHandle[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (_m, h) => {
        if (h === undefined) return;
        received.push(h as unknown as RawHandle);
        if (received.length === copies) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the descriptor reflector exited (${code}) after ${received.length} of ${copies} copies`)));
      child.send({ copies }, handle as never, (e) => { if (e) reject(e); });
    });
  } finally {
    if (child.connected) child.disconnect();
  }
  return received;
};

/** Keep a copy's raw handle alive for the life of the process (its descriptor now belongs to a worker). */
export const handOver = (handle: RawHandle): number => {
  handedOut.push(handle);
  return handle.fd;
};
