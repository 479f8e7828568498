/**
 * Process signals for a server: the first SIGTERM or SIGINT starts a
 * graceful drain and exits 0 when it is done; a second one exits at once.
 */
import type { RpcRuntime } from './rpc-runtime.js';
import { diagnostic } from './diagnostics.js';

/** Install the handlers; returns a function that removes them. */
export const drainOnSignals = (runtime: RpcRuntime, log: (line: string) => void = diagnostic('info')): (() => void) => {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      log(`vgi-rpc: second ${sig}, exiting now`);
      // Close what must not outlive the process first (workers' listeners), but exit whatever that does.
      void (async () => runtime.halt())().catch(() => undefined).finally(() => process.exit(130));
      return;
    }
    log(`vgi-rpc: ${sig} received, draining (send it again to exit at once)`);
    void runtime.drain().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`vgi-rpc: drain failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
};
