/**
 * The benchmarks' native helpers (bench/*.c): compiled with the system's
 * `cc` when a run needs one, into a directory of that run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compile `bench/<name>.c` into `dir`; the binary's path, or why it could not be built. */
export const compileTool = (name: string, dir: string): { binary: string } | { error: string } => {
  const source = fileURLToPath(new URL(`../../bench/${name}.c`, import.meta.url));
  const binary = join(dir, name);
  const built = spawnSync('cc', ['-O2', '-o', binary, source], { encoding: 'utf8' });
  if (built.status !== 0) return { error: `cannot compile ${source} (${built.error?.message ?? built.stderr.trim()})` };
  return { binary };
};
