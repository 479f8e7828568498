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
 * Nothing of ours runs on SIGKILL or a kernel OOM kill, so a segment tracker does (segment-tracker.ts,
 * after Python's multiprocessing resource tracker): the first segment a thread creates starts one
 * child process, unref'd so it never keeps the owner alive, whose stdin is a pipe from this thread.
 * Each name is registered before it is handed out and unregistered after close unlinks it; when the
 * pipe ends, however the owner ended, the tracker unlinks what is still registered and exits. A
 * tracker that dies only costs that protection: the hooks above still unlink, and the next segment
 * created starts a new tracker and registers every name still owned. Threads that never create a
 * segment start none. Should the tracker script be missing (running from sources without a build,
 * or bundled where the installed package cannot be found), segments work without one.
 *
 * Worker threads: each thread that creates segments has a tracker of its own, tied to that thread:
 * its pipe closes when the thread ends, also when the worker is terminated from outside (where the
 * 'exit' hook does not run), and the tracker then unlinks what that thread still owned. Node reaps
 * a child only on the thread that spawned it, so the exited tracker of an ended worker stays a
 * zombie (a process-table entry, no memory) until the process ends. Signals reach only the main
 * thread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { isMainThread } from 'node:worker_threads';
import { type SharedMapping, createMapping, unlinkMapping } from './mapping.js';
import { builtFile } from '../../runtime/package-root.js';

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

/**
 * The compiled tracker: beside this module in dist/, else in the package root's dist/ (this module
 * running from source in tests, or bundled into an application's file: package-root.ts).
 */
const trackerScript = (): string | undefined => builtFile(new URL('./segment-tracker.js', import.meta.url), 'transports', 'shm', 'segment-tracker.js');

let tracker: ChildProcess | undefined;

/** Spawns this thread's tracker; undefined when it cannot run (segments then rely on the hooks alone). */
const startTracker = (): ChildProcess | undefined => {
  const script = trackerScript();
  if (script === undefined) return undefined;
  // The tracker is plain Node: whatever the owner's NODE_OPTIONS preload or open (an inspector port) is not for it.
  const { NODE_OPTIONS: _, ...env } = process.env;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script, String(process.pid)], { stdio: ['pipe', 'ignore', 'inherit'], detached: false, env });
  } catch {
    return undefined;
  }
  const lost = (): void => {
    if (tracker === child) tracker = undefined;
  };
  child.once('error', lost);
  child.once('exit', lost);
  // A dead tracker makes writes fail with EPIPE: that is a lost tracker, not an error of the owner.
  child.stdin?.on('error', lost);
  child.unref();
  (child.stdin as Socket | null)?.unref();
  return child;
};

/** One line to the tracker, if there is one; the write reaches the pipe before this returns. */
const tell = (verb: 'register' | 'unregister', name: string): void => {
  const stdin = tracker?.stdin;
  if (stdin?.writable === true) stdin.write(`${verb} ${encodeURIComponent(name)}\n`);
};

/** Registers `name` (already in `owned`) with the tracker, starting one that registers every owned name if none runs. */
const track = (name: string): void => {
  if (tracker !== undefined) return tell('register', name);
  tracker = startTracker();
  for (const each of owned.keys()) tell('register', each);
};

/** Unlinks every owned name; never throws (it runs while the process is going down). */
const unlinkAll = (): void => {
  for (const name of owned.keys()) {
    try {
      unlinkMapping(name);
      tell('unregister', name);
    } catch {
      // Best effort: the process is exiting and has nobody left to tell; the tracker gets what remains.
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
  // Registered only once created: a name that failed (EEXIST) may be another process's.
  track(name);
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
        tell('unregister', name);
      } finally {
        if (owned.size === 0) unhook();
      }
    },
  };
};

/** Names this process owns and has not closed yet (for diagnostics and tests). */
export const ownedSegmentNames = (): readonly string[] => [...owned.keys()];

/** The pid of this thread's segment tracker, or undefined while none runs (diagnostics and tests). */
export const segmentTrackerPid = (): number | undefined => tracker?.pid;
