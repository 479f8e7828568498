/**
 * The cancel probe (reference `_CancelProbe`): three process-wide counters
 * that the cancel conformance tests read back over the wire through
 * `cancel_probe_counters` and zero through `reset_cancel_probe`.
 *
 * When `VGI_RPC_CONFORMANCE_PROBE_FILE` is set (and non-empty) the counters
 * live in that file instead, so several server processes or worker threads
 * share one counter set. The file holds the JSON the reference writes
 * (`{"produce_calls": 0, "exchange_calls": 0, "on_cancel_calls": 0}`).
 *
 * Locking: the reference takes `flock` on the file itself. Node has no flock,
 * so writers here serialise on a sidecar lock file (`<file>.lock`, created
 * with O_EXCL). That is exact among processes of this runtime; it does not
 * exclude a Python process sharing the same file (none does in the suite).
 * Readers take the same lock (the reference takes a shared flock), so they
 * never see a half-written file.
 */
import * as fs from 'node:fs';

/** Environment variable naming the shared counter file. */
export const PROBE_FILE_ENV = 'VGI_RPC_CONFORMANCE_PROBE_FILE';

/** Names of the three counters, in `cancel_probe_counters` order. */
export const PROBE_COUNTERS = ['produce_calls', 'exchange_calls', 'on_cancel_calls'] as const;

/** One of the three counters. */
export type ProbeCounter = (typeof PROBE_COUNTERS)[number];

const zeros = (): Record<string, unknown> => ({ produce_calls: 0, exchange_calls: 0, on_cancel_calls: 0 });

/** Python `json.dumps` layout for a flat object of numbers: `{"a": 1, "b": 2}`. */
const pyJson = (obj: Record<string, unknown>): string =>
  `{${Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;

const count = (obj: Record<string, unknown>, key: ProbeCounter): number => {
  const v = obj[key];
  return typeof v === 'number' ? v : 0;
};

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const STALE_LOCK_MS = 10_000;

/** Run `fn` holding the sidecar lock of `path`. */
const withLock = <A>(path: string, fn: () => A): A => {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { force: true });
      } catch {
        // the holder released it meanwhile
      }
      sleepSync(Math.min(1 + attempt, 20));
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
};

const readObject = (path: string): Record<string, unknown> | undefined => {
  let raw: string;
  try {
    raw = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (raw === '') return undefined;
  const parsed = JSON.parse(raw) as unknown;
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
};

/** The probe: in-memory counters, or the shared file when the environment names one. */
export class CancelProbe {
  private readonly memory: Record<ProbeCounter, number> = { produce_calls: 0, exchange_calls: 0, on_cancel_calls: 0 };

  /** `sharedPath` returns the shared file, or undefined for in-memory counters (default: the environment variable). */
  constructor(private readonly sharedPath: () => string | undefined = () => process.env[PROBE_FILE_ENV] || undefined) {}

  /** Add one to a counter. */
  bump(field: ProbeCounter): void {
    const path = this.sharedPath();
    if (path === undefined) {
      this.memory[field]++;
      return;
    }
    withLock(path, () => {
      const data = readObject(path) ?? zeros();
      data[field] = count(data, field) + 1;
      fs.writeFileSync(path, pyJson(data));
    });
  }

  /** `[produce_calls, exchange_calls, on_cancel_calls]` from the active store. */
  snapshot(): [number, number, number] {
    const path = this.sharedPath();
    if (path === undefined) return [this.memory.produce_calls, this.memory.exchange_calls, this.memory.on_cancel_calls];
    const data = withLock(path, () => readObject(path)) ?? {};
    return [count(data, 'produce_calls'), count(data, 'exchange_calls'), count(data, 'on_cancel_calls')];
  }

  /** Zero the counters (in memory, and in the shared file when one is set). */
  reset(): void {
    this.memory.produce_calls = 0;
    this.memory.exchange_calls = 0;
    this.memory.on_cancel_calls = 0;
    const path = this.sharedPath();
    if (path !== undefined) withLock(path, () => fs.writeFileSync(path, pyJson(zeros())));
  }
}

/** The process-wide probe used by the conformance service. */
export const cancelProbe = new CancelProbe();
