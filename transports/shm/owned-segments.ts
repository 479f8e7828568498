/**
 * Shared-memory segments this process created, and the promise that their names do not outlive
 * it: a segment's name is unlinked when it is closed, when the process exits (normally, through
 * process.exit, or by an uncaught exception), and on SIGINT, SIGTERM and SIGHUP.
 *
 * Signals: a listener replaces the signal's default action, so ours only acts when it is the sole
 * listener. Then it unlinks, removes itself and raises the signal again, so the process still dies
 * of it (exit status and parent's view unchanged). When someone else listens too (the runtime's
 * drain handlers in runtime/signals.ts), the signal is theirs: they end the process with
 * process.exit, and the 'exit' hook unlinks then. The hooks exist only while a segment is owned.
 *
 * Nothing runs on SIGKILL or a kernel OOM kill: those names stay in /dev/shm. The `vgi_<pid>_`
 * prefix lets a sweeper find them (see ownedSegmentPrefix).
 *
 * Worker threads: the 'exit' hook runs when the worker's own process object exits (process.exit or
 * the end of its event loop) but not when the worker is terminated from outside, and signals reach
 * only the main thread; create long-lived segments on the main thread.
 */
import { randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { type SharedMapping, createMapping, unlinkMapping } from './mapping.js';

/** A segment this process created: closing it unmaps it and unlinks its name. */
export interface OwnedSegment extends SharedMapping {
  /** munmap, then shm_unlink; peers that are attached keep their mapping. Idempotent. */
  close(): void;
}

/** The prefix of names this process generates: `vgi_<pid>_`. */
export const ownedSegmentPrefix = (pid: number = process.pid): string => `vgi_${pid}_`;

/**
 * A fresh segment name, `vgi_<pid>_<16 hex digits>`, without the leading '/' (as the reference's
 * `psm_...` names; at most 28 characters, under macOS's 31).
 */
export const newSegmentName = (): string => `${ownedSegmentPrefix()}${randomBytes(8).toString('hex')}`;

const owned = new Map<string, SharedMapping>();
const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

/** Unlinks every owned name; never throws (it runs while the process is going down). */
const unlinkAll = (): void => {
  for (const name of owned.keys()) {
    try {
      unlinkMapping(name);
    } catch {
      // Best effort: the process is exiting and has nobody left to tell.
    }
  }
  owned.clear();
};

const onExit = (): void => unlinkAll();

const onSignal = (signal: NodeJS.Signals): void => {
  // Another listener owns this signal's meaning; the process ends through 'exit' if it ends.
  if (process.listenerCount(signal) > 1) return;
  unlinkAll();
  unhook();
  // With no listener left the default action is back: raise the signal again to die of it.
  process.kill(process.pid, signal);
};

const hook = (): void => {
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit);
  if (isMainThread) for (const s of signals) process.on(s, onSignal);
};

const unhook = (): void => {
  if (!hooked) return;
  hooked = false;
  process.off('exit', onExit);
  if (isMainThread) for (const s of signals) process.off(s, onSignal);
};

/** Creates a segment owned by this process (mode 0600), named `name` or a fresh `vgi_<pid>_...`. */
export const createOwnedSegment = (size: number, name: string = newSegmentName()): OwnedSegment => {
  const mapping = createMapping(name, size);
  owned.set(name, mapping);
  hook();
  return {
    name,
    get bytes(): Uint8Array {
      return mapping.bytes;
    },
    close(): void {
      mapping.close();
      if (!owned.delete(name)) return;
      try {
        unlinkMapping(name);
      } finally {
        if (owned.size === 0) unhook();
      }
    },
  };
};

/** Names this process owns and has not closed yet (for diagnostics and tests). */
export const ownedSegmentNames = (): readonly string[] => [...owned.keys()];
