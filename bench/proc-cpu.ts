/**
 * CPU time of processes and of the whole machine, read from Linux's /proc,
 * for benchmarks that report what the server and the load generator cost.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ on Linux). */
export const CLK_TCK = 100;

/** utime+stime (clock ticks) of a /proc stat line; the command name may contain spaces and parentheses. */
export const parseStat = (text: string): { name: string; ticks: number } => {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return { name: text.slice(open + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
};

/** CPU ticks process `pid` has used so far (all its threads). */
export const processTicks = (pid: number): number => parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks;

/** Busy ticks of the whole machine so far, all cores (user nice system irq softirq steal; not idle or iowait). */
export const machineBusyTicks = (): number => {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - cpu[3]! - cpu[4]!;
};

/**
 * Nanoseconds the threads of process `pid` have spent runnable but waiting
 * for a core, so far (the second field of each thread's
 * /proc/<pid>/task/<tid>/schedstat, summed; threads that ended drop out). A
 * thread waiting here cannot answer, whatever its event loop does, so this
 * tells scheduler delays from slow code; 0 where the kernel keeps no schedstats.
 */
export const runQueueWaitNs = (pid: number): number => {
  let total = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tasks) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1] ?? 0);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
};
