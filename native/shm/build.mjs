#!/usr/bin/env node
/**
 * Builds the shared-memory addon (native/shm) with node-gyp, at install time and before the
 * tests. A failed build never fails the caller: the shm transport then reports itself
 * unavailable (`shmAvailable()` is false) and everything else works. `--force` rebuilds even when
 * the binary is newer than its sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = join(here, 'build', 'Release', 'vgi_shm.node');
const sources = ['shm.c', 'binding.gyp'].map((f) => join(here, f));
const force = process.argv.includes('--force');

const say = (line) => process.stderr.write(`vgi-rpc shm: ${line}\n`);

if (process.platform === 'win32') {
  say('POSIX shared memory is not available on Windows; the shm transport is disabled');
  process.exit(0);
}

const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (!force && existsSync(binary) && statSync(binary).mtimeMs >= newest) process.exit(0);

// npm sets npm_config_node_gyp for its scripts; outside npm, use the node-gyp bundled with the npm
// next to this node, then one on PATH.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const args = ['rebuild', '-C', here];
// Where this node ships its own headers (Debian, nvm, official tarballs), use them instead of a
// download: install must work offline.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const result = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  : spawnSync('node-gyp', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', shell: false });
if (result.status !== 0 || !existsSync(binary)) {
  const why = result.error ? result.error.message : (result.stderr || '').split('\n').filter((l) => /error|ERR!/i.test(l)).slice(0, 8).join('\n');
  say(`the native addon did not build (a C compiler, make and python3 are needed); the shm transport is disabled\n${why}`);
}
process.exit(0);
