/**
 * The unix socket server. A socket file left behind by a dead server (the
 * path exists but connecting to it is refused) is replaced; a path owned by
 * a live listener, or a path that is not a socket, is refused with a clear
 * error. The socket file is removed when the listener closes.
 */
import { type Server, connect } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { lstat, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type ListenOptions, type SocketListener, listenSockets, listening } from '../socket/socket-listener.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';

/** A path that cannot be served on, with `code` EADDRINUSE (live listener) or EEXIST (not a socket). */
export class SocketPathError extends Error {
  override readonly name = 'SocketPathError';
  /** Create the error. */
  constructor(message: string, readonly code: 'EADDRINUSE' | 'EEXIST') {
    super(message);
  }
}

/** What is at a socket path: nothing, a socket nobody accepts on, or a live listener. */
const probe = async (path: string): Promise<'absent' | 'stale' | 'live'> => {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new SocketPathError(`${path} exists and is not a socket; refusing to replace it`, 'EEXIST');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    s.once('connect', () => { s.destroy(); resolve('live'); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') resolve('stale');
      else if (e.code === 'ENOENT') resolve('absent');
      else reject(e);
    });
  });
};

const liveError = (path: string): SocketPathError =>
  new SocketPathError(`another server is already listening on unix socket ${path}`, 'EADDRINUSE');

/**
 * Where a shared socket is bound before the workers accept on it: beside
 * `path` (a rename must stay on one file system), under a name no client
 * dials. Closing the main thread's listener removes the file at the bound
 * name, so the socket is moved to `path` first.
 */
const stagingPath = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.staging`);

const bindUnix = async (server: Server, path: string, staged: boolean): Promise<string> => {
  const state = await probe(path);
  if (state === 'live') throw liveError(path);
  if (state === 'stale') await unlink(path).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  try {
    await listening(server, () => server.listen(staged ? stagingPath(path) : path));
  } catch (e) {
    // Lost a race with another server starting on the same path.
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw liveError(path);
    throw e;
  }
  return path;
};

/** Serve `server` on the unix socket at `path`; each connection is served concurrently with transport kind 'unix'. */
export const serveUnix = (runtime: RpcRuntime, path: string, options: ListenOptions = {}): Promise<SocketListener<string>> => {
  /** The inode of our socket file at `path`, once it is there. */
  let published: number | undefined;
  return listenSockets(runtime, {
    transportKind: 'unix',
    bind: async (net, staged) => {
      const bound = await bindUnix(net, path, staged);
      if (!staged) published = (await lstat(path)).ino;
      return bound;
    },
    publish: async (p) => {
      // A live server that took the path meanwhile keeps it.
      if ((await probe(p)) === 'live') throw liveError(p);
      await rename(stagingPath(p), p);
      published = (await lstat(p)).ino;
    },
    unpublish: async (p) => {
      // Only our own socket file: a newer server may have replaced it after we stopped. Synchronous,
      // so the file is gone as soon as the drain starts (a client dialling after it is refused).
      try {
        if (lstatSync(p).ino === published) unlinkSync(p);
      } catch {
        // Already gone.
      }
      published = undefined;
    },
    discovery: (p) => `UNIX:${p}`,
  }, options);
};
