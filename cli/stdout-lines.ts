/**
 * Lines to stdout, with back-pressure and a reader that may go away: when
 * stdout's reader closes (`vgi-rpc call ... | head`), writes stop and the
 * running stream is cancelled, and the command ends quietly instead of
 * dying on EPIPE.
 */

let closed = false;

/** Start noticing a closed stdout (call once, before writing). */
export const watchStdout = (): void => {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    closed = true;
  });
};

/** True once stdout's reader has gone away. */
export const stdoutClosed = (): boolean => closed;

/** Write one line; resolves when stdout can take more (or has closed). */
export const writeLine = (text: string): Promise<void> | undefined => {
  if (closed || process.stdout.write(`${text}\n`)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.stdout.once('drain', done);
    process.stdout.once('close', done);
    process.stdout.once('error', done);
  });
};
