/**
 * Process entry for a stdio server: stdout carries only Arrow IPC (console
 * output is redirected to stderr), SIGTERM/SIGINT stop reading and let the
 * current call finish (a second signal exits at once), and an input framing
 * error that cannot be resynchronised ends the process with a clear message
 * on stderr and exit code 2.
 */
import type { Layer } from 'effect';
import { makeDispatcher, type DispatcherOptions, type Hostable } from '../../src/protocol/dispatcher.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { isWireError } from '../../src/wire/errors.js';
import { type ReaderLimits, defaultReaderLimits } from '../../src/wire/stream-reader.js';
import { framesFrom, peerGone, writerTo } from '../duplex/node-stream-io.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import { emptySchema } from '../../src/service/method.js';
import { toWireError, Errors } from '../../src/service/errors.js';

/** Keep stdout for Arrow bytes only: route console printing to stderr. */
export const reserveStdout = (): void => {
  const toErr = (...args: unknown[]): void => { process.stderr.write(`${args.map(String).join(' ')}\n`); };
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
};

/** Serve `services` on stdio until stdin ends or a signal arrives; sets process.exitCode. */
export const runStdioServer = async <E>(
  services: readonly Hostable[],
  layer: Layer.Layer<ServiceImpl<any>, E, never>,
  options: DispatcherOptions & { readonly limits?: ReaderLimits } = {},
): Promise<void> => {
  reserveStdout();
  const { dispatcher, dispose } = await makeDispatcher(services, layer, options);
  const frames = framesFrom(process.stdin, options.limits ?? defaultReaderLimits);
  const write = writerTo(process.stdout);
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled++;
    if (signalled > 1) process.exit(130);
    process.stderr.write(`vgi-rpc: ${sig} received, finishing the current call\n`);
    process.stdin.pause();
    frames.end();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await dispatcher.serve({ frames, write, transportKind: 'pipe', closed: peerGone(process.stdout) });
    process.exitCode = 0;
  } catch (e) {
    if (signalled > 0 && isWireError(e)) {
      process.exitCode = 0;
    } else if (isWireError(e)) {
      process.stderr.write(`vgi-rpc: cannot read the request stream on stdin (${(e as Error).name}: ${(e as Error).message}); closing the connection\n`);
      const out: Uint8Array[] = [];
      writeErrorStream(out, emptySchema(), toWireError(Errors.protocol((e as Error).message)), { serverId: dispatcher.serverId, requestId: undefined });
      await Promise.resolve(write(out)).catch(() => undefined);
      process.exitCode = 2;
    } else {
      process.stderr.write(`vgi-rpc: stdio server failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await dispose();
    process.stdin.destroy();
  }
};
