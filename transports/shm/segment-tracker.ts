/**
 * The segment tracker: a tiny process that unlinks the shared-memory names its owner could not,
 * as Python's multiprocessing resource tracker does. owned-segments.ts starts one, lazily, for the
 * thread that creates its first segment, with a pipe as its stdin, and writes one line per event:
 *
 *   register <name>     the owner created <name>
 *   unregister <name>   the owner unlinked <name> itself
 *
 * with <name> percent-encoded (encodeURIComponent), so a name holding a line break cannot forge a
 * second line; the names the runtime generates (`vgi_<pid>_<hex>`) read the same either way.
 *
 * When the pipe ends, the owner is gone however it ended (SIGKILL and the OOM killer included:
 * the kernel closes the owner's end), so every name still registered is unlinked and the tracker
 * exits. It unlinks only names registered to it, never a prefix or a pattern, so it cannot remove
 * a segment another process owns.
 *
 * It shares the owner's process group (a terminal's Ctrl-C reaches both), so it ignores SIGINT,
 * SIGTERM and SIGHUP: the owner decides whether those end it, and the pipe tells the tracker. A
 * watchdog also ends it if its parent changes (the owner died while some other process still held
 * a copy of the pipe), so it never outlives its owner by more than a moment.
 */
import { createInterface } from 'node:readline';
import { unlinkMapping } from './mapping.js';

const registered = new Set<string>();
/** The owner's pid, given as the first argument (the parent at start, should argv be missing). */
const owner = Number(process.argv[2] ?? process.ppid);
let finished = false;

/** Unlinks what is still registered, then exits; runs once. */
const finish = (): void => {
  if (finished) return;
  finished = true;
  for (const name of registered) {
    try {
      unlinkMapping(name);
    } catch (e) {
      process.stderr.write(`vgi-rpc segment tracker: could not unlink ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  registered.clear();
  process.exit(0);
};

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

/** `register <name>` or `unregister <name>` (name percent-encoded); undefined for anything else. */
const parseLine = (line: string): { verb: 'register' | 'unregister'; name: string } | undefined => {
  const space = line.indexOf(' ');
  const verb = line.slice(0, space);
  if (verb !== 'register' && verb !== 'unregister') return undefined;
  try {
    const name = decodeURIComponent(line.slice(space + 1));
    return name === '' ? undefined : { verb, name };
  } catch {
    return undefined;
  }
};

process.stdin.on('error', finish);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const event = parseLine(line);
  if (event === undefined) process.stderr.write(`vgi-rpc segment tracker: ignored line ${JSON.stringify(line.slice(0, 80))}\n`);
  else if (event.verb === 'register') registered.add(event.name);
  else registered.delete(event.name);
});
lines.on('close', finish);

// A leaked copy of the pipe's write end would hold EOF back; a new parent means the owner is gone.
setInterval(() => {
  if (process.ppid !== owner) finish();
}, 1000).unref();
