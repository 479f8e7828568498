/**
 * Looking at processes through Linux's /proc: whether a pid still runs, and which processes a
 * parent started (the shm tests find an owner's segment tracker and a client's server this way).
 */
import { readFileSync, readdirSync } from 'node:fs';

/** State letter and parent pid from /proc/<pid>/stat, or undefined once the pid is gone. */
const stat = (pid: number): { state: string; ppid: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
};

/** Whether `pid` is a live process (an exited one not yet reaped, a zombie, is not). */
export const running = (pid: number): boolean => {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
};

/** The live processes whose parent is `pid`, with their command lines. */
export const childrenOf = (pid: number): { pid: number; cmdline: string }[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => stat(p)?.ppid === pid && running(p))
    .flatMap((p) => {
      try {
        return [{ pid: p, cmdline: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ') }];
      } catch {
        return [];
      }
    });

/** The segment trackers `pid` started (transports/shm/segment-tracker.ts), by pid. */
export const trackersOf = (pid: number): number[] =>
  childrenOf(pid).filter((c) => c.cmdline.includes('segment-tracker.js')).map((c) => c.pid);

/** Whether `pid` has handlers installed for all of `signals` (SigCgt in /proc/<pid>/status). */
export const catches = (pid: number, signals: readonly number[]): boolean => {
  try {
    const line = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const caught = BigInt(`0x${line![1]}`);
    return signals.every((n) => (caught & (1n << BigInt(n - 1))) !== 0n);
  } catch {
    return false;
  }
};
