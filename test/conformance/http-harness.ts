/**
 * The HTTP side of the conformance harness: the reference's HTTP-only test
 * groups are written against `httpGroup` and `httpWorker`, the TypeScript
 * counterparts of the reference runner's `conformance_http_*` fixtures.
 *
 * Each fixture is the conformance worker started with `--http` plus the
 * flags the reference harness passes for that fixture; the worker prints
 * `PORT:<n>` and serves on 127.0.0.1. A group that needs a feature this
 * server does not have yet (sticky sessions, proxy proof, external storage)
 * names it, and its tests skip with that reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe } from 'vitest';
import { getCurrentTest } from 'vitest/suite';

/** The worker the HTTP fixtures start (the conformance worker with `--http`). */
const HTTP_TRANSPORT: { readonly workerScript: string } | undefined = {
  workerScript: fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url)),
};

/** Why the HTTP-only groups would skip without the transport. */
export const HTTP_SKIP_REASON = 'HTTP transport not built yet';

/** Features some HTTP groups need that this server does not have yet, with why their tests skip. */
export const NOT_BUILT = {
  proof: 'proxy proof (VGI-Proxy-Proof) is not built yet',
  storage: 'external storage (upload URLs, externalised batches) is not built yet',
  accessLog: 'the JSONL access log is not built yet',
} as const;

/** A running HTTP conformance worker (what a `conformance_http_*_port` fixture yields, plus its URL). */
export interface HttpWorker {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The port (the reference fixtures yield this). */
  readonly port: number;
  /** The mount prefix the worker serves under: `''` by default, `/vgi` for the proof fixtures. */
  readonly prefix: string;
  /** The access-log file, when the fixture was started with `accessLog: true`. */
  readonly accessLogPath?: string;
  /** Everything the worker wrote to stderr so far. */
  readonly stderr: readonly string[];
}

/** How to start one HTTP fixture. */
export interface HttpFixtureSpec {
  /** The reference fixture's name, e.g. `conformance_http_port` (for messages). */
  readonly name: string;
  /** Worker flags after `--http`, e.g. `['--cors-origin', 'https://conformance.example']`. */
  readonly flags: readonly string[];
  /** The prefix the worker mounts at (default `''`). */
  readonly prefix?: string;
  /** Start with `--access-log <tmp file>` and expose its path. */
  readonly accessLog?: boolean;
  /** Extra environment for the worker process. */
  readonly env?: Readonly<Record<string, string>>;
  /** A feature this fixture needs that the server does not have yet: a test asking for it skips, naming it. */
  readonly needs?: keyof typeof NOT_BUILT;
}

interface Running {
  readonly worker: HttpWorker;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let logDir: string | undefined;
let nextLog = 0;
const running = new Map<string, Promise<Running>>();
let fileHookRegistered = false;

const startWorker = async (script: string, spec: HttpFixtureSpec): Promise<Running> => {
  const args = [script, '--http', ...spec.flags];
  let accessLogPath: string | undefined;
  if (spec.accessLog === true) {
    logDir ??= mkdtempSync(join(tmpdir(), 'vgi-conf-http-'));
    accessLogPath = join(logDir, `access-${nextLog++}.jsonl`);
    args.push('--access-log', accessLogPath);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(null));
  });
  const m = line === null ? null : /^PORT:(\d+)$/.exec(line);
  if (m === null) {
    child.kill('SIGKILL');
    throw new Error(`the ${spec.name} worker did not print PORT:<n> (got ${JSON.stringify(line)}): ${stderr.join('\n')}`);
  }
  const port = Number(m[1]);
  const worker: HttpWorker = {
    origin: `http://127.0.0.1:${port}`,
    port,
    prefix: spec.prefix ?? '',
    ...(accessLogPath === undefined ? {} : { accessLogPath }),
    stderr,
  };
  return { worker, child, exited };
};

const stopAll = async (): Promise<void> => {
  const all = [...running.values()];
  running.clear();
  try {
    for (const r of await Promise.all(all.map((p) => p.catch(() => undefined)))) {
      if (r === undefined) continue;
      r.child.kill('SIGTERM');
      const { code, signal } = await r.exited;
      if (code !== 0) throw new Error(`an HTTP conformance worker exited with ${code ?? signal} after SIGTERM`);
    }
  } finally {
    if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
    logDir = undefined;
  }
};

/**
 * The worker for `spec`, started on first use and shared by every test of
 * this file that asks for the same spec (stopped with SIGTERM after the
 * file's last test, which must exit 0). Only call it inside a test of an
 * `httpGroup`.
 */
export const httpWorker = async (spec: HttpFixtureSpec): Promise<HttpWorker> => {
  const transport = HTTP_TRANSPORT as { readonly workerScript: string } | undefined;
  if (transport === undefined) throw new Error(`${spec.name}: ${HTTP_SKIP_REASON}`);
  if (spec.needs !== undefined) {
    const test = getCurrentTest();
    if (test === undefined) throw new Error(`${spec.name}: ${NOT_BUILT[spec.needs]}`);
    test.context.skip(`${spec.name}: ${NOT_BUILT[spec.needs]}`);
  }
  const key = JSON.stringify([spec.flags, spec.prefix ?? '', spec.accessLog === true, spec.env ?? {}]);
  let r = running.get(key);
  if (r === undefined) {
    r = startWorker(transport.workerScript, spec);
    running.set(key, r);
  }
  return (await r).worker;
};

/** The plain HTTP worker: the reference's `conformance_http_port` (no auth, compression on). */
export const PLAIN_HTTP: HttpFixtureSpec = { name: 'conformance_http_port', flags: [] };

/**
 * Declare one of the reference's HTTP-only groups. Its tests run once, over
 * HTTP; `needs` names a feature not built yet, and then they skip saying so.
 */
export const httpGroup = (group: string, body: () => void, needs?: keyof typeof NOT_BUILT): void => {
  if (!fileHookRegistered) {
    fileHookRegistered = true;
    afterAll(stopAll);
  }
  describe(`${group} [http]`, () => {
    beforeEach((ctx) => {
      if (HTTP_TRANSPORT === undefined) ctx.skip(HTTP_SKIP_REASON);
      if (needs !== undefined) ctx.skip(NOT_BUILT[needs]);
    });
    body();
  });
};

/** The compiled conformance worker the HTTP fixtures start (build first). */
export const CONFORMANCE_WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));
