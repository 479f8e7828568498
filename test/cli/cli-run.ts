/**
 * Test support for the `vgi-rpc` command line: run the built
 * dist/cli/main.js as a subprocess (after checking the build is not older
 * than its sources) and collect its exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { staleOutputs } from '../support/stale-build.js';

/** The built CLI entry. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** The built conformance worker (ConformanceService and conformance.Secondary.v1). */
export const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));
/** The npm peer's stdio server (Bench and Interop 1.2.0). */
export const PEER_SERVER = fileURLToPath(new URL('../interop/peer-server.mjs', import.meta.url));

/** A `--cmd` value running `node script args...` (single-quoted words). */
export const nodeCommand = (script: string, ...args: string[]): string => [process.execPath, script, ...args].map((w) => `'${w}'`).join(' ');

/** The conformance worker over stdio, as a `--cmd` value. */
export const WORKER_CMD = nodeCommand(WORKER);

/** Refuse to run against a build older than the sources (the CLI, its app module, the worker). */
export const assertFreshBuild = (): void => {
  const stale = [...staleOutputs('cli/main.ts'), ...staleOutputs('cli/app.ts'), ...staleOutputs('examples/conformance/worker.ts')];
  if (stale.length > 0) throw new Error(`stale build, run \`npx tsc -p .\` first: ${stale.join(', ')}`);
};

/** What one CLI run produced. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `node [nodeArgs] dist/cli/main.js args...`, feeding `stdin` when given. */
export const runCli = (args: readonly string[], options: { stdin?: string; nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });

/** The non-empty lines of a text. */
export const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
