/**
 * The stdio server: requests on stdin, nothing but Arrow IPC on stdout,
 * diagnostics on stderr. Serves until stdin ends.
 */
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import { framesFrom, writerTo } from '../duplex/node-stream-io.js';

/** Serve `dispatcher` on this process's stdin/stdout; resolves when stdin ends. */
export const serveStdio = (dispatcher: Dispatcher, limits?: ReaderLimits): Promise<void> =>
  dispatcher.serve({ frames: framesFrom(process.stdin, limits), write: writerTo(process.stdout), transportKind: 'pipe' });
