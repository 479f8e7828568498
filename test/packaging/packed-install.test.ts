/**
 * The package as a user gets it: `npm pack` makes the tarball, a fresh
 * project installs it, the README's TypeScript snippets (each starts with a
 * `// <file>.ts` line) are written out as that project's files and compiled
 * against the installed package's types, and the program they make is run
 * over stdio, a unix socket (workers accept), TCP (relay) and the Effect
 * API; the page script is bundled for the browser. Only the package's
 * documented entries are used. The server is also bundled with the README's
 * esbuild command (its ```sh line, run as written with our esbuild) and
 * served over stdio from the bundle, with and without worker threads, shm
 * still available.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBundleCommand } from '../../bench/readme-bundle.js';
import { Client, Method, RpcClientError, Service, T, httpConnect } from '../../src/index.js';
import { emptySchema } from '../../src/service/method.js';
import { Keys, TRANSPORT_OPTIONS_METHOD } from '../../src/wire/metadata-keys.js';
import { open } from '../../transports/connect.js';
import { readResponse, requestBytes } from '../support/raw-exchange.js';
import { spawnFirstLine } from '../support/first-line.js';
import { staleOutputs } from '../support/stale-build.js';
import { flagValue, readContainerExample, withFlag } from '../support/container-example.js';

const run = promisify(execFile);
const root = process.cwd();

/** The README's ```ts blocks, by the file name on their first line. */
const readmeSnippets = async (): Promise<Map<string, string>> => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const files = new Map<string, string>();
  for (const m of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const body = m[1]!;
    const name = /^\/\/ ([\w-]+\.ts)\b/.exec(body)?.[1];
    if (name === undefined) throw new Error(`a README ts block does not start with "// <file>.ts": ${body.slice(0, 80)}`);
    if (files.has(name)) throw new Error(`two README ts blocks are named ${name}`);
    files.set(name, body);
  }
  return files;
};

/** The part of inventory.ts's service a client of the bundled server calls (declared as a web page would). */
const InventoryCalls = Service.define('Inventory', { version: '1.0.0' }, {
  add: Method.unary({ params: { sku: T.utf8, qty: T.int64 }, result: T.int64 }),
  list: Method.producer({ params: { pageSize: T.int64 }, defaults: { pageSize: 2n }, output: { sku: T.utf8, qty: T.int64 } }),
});

/** The README's Cart service as a client declares it. */
const CartCalls = Service.define('Cart', { version: '1.0.0' }, {
  open: Method.unary({ params: {}, result: T.utf8 }),
  add: Method.unary({ params: { sku: T.utf8 }, result: T.int64 }),
  checkout: Method.unary({ params: {}, result: T.utf8 }),
});

/** Run `node args...` in `dir` (stdin at its end); resolves with its output, rejects with its stderr on a non-zero exit. */
const nodeOutput = (dir: string, args: readonly string[]): Promise<{ out: string; err: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve({ out, err }) : reject(new Error(`node ${args.join(' ')} exited ${code}:\n${err}\n${out}`))));
  });

/** Run `node args...` in `dir`; resolves with its stdout. */
const node = async (dir: string, args: readonly string[]): Promise<string> => (await nodeOutput(dir, args)).out;

/**
 * The module URLs a stdio server with no worker thread loads from start to exit (its stdin is at
 * its end from the start), logged by a module.register load hook written into `dir`.
 */
const loadedModules = async (dir: string, main: string): Promise<string[]> => {
  await writeFile(join(dir, 'load-log-hook.mjs'), 'export const load = (url, context, next) => { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); };\n');
  await writeFile(join(dir, 'load-log.mjs'), "import { register } from 'node:module';\nregister('./load-log-hook.mjs', import.meta.url);\n");
  const { err } = await nodeOutput(dir, ['--import', './load-log.mjs', main, '--stdio', '--workers', '0']);
  return [...err.matchAll(/^LOADED (.*)$/gm)].map((m) => m[1]!);
};

/** What a stdio server with no worker thread has no use for, so must not load at start-up. */
const unusedAtStartup = /\/node_modules\/(piscina|fzstd|uWebSockets\.js|zstd-napi|@effect\/(cli|platform))\/|^node:https?$|\/dist\/cli\/|\/dist\/transports\/http\/(serve-http|http-app|http-config)\.js$/;

describe('the packed package, installed into a fresh project', () => {
  let dir = '';
  /** Where the compiled snippets are. */
  let out = '';
  let tarball = '';
  let packedFiles: string[] = [];
  let installLog = '';

  beforeAll(async () => {
    const stale = ['transports/server-entry.ts', 'transports/connect-entry.ts', 'src/index.ts'].flatMap((e) => staleOutputs(e));
    if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    dir = await mkdtemp(join(tmpdir(), 'vgi-packed-'));
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, packed!.filename);
    packedFiles = packed!.files.map((f) => f.path);
    const own = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    await writeFile(join(dir, 'package.json'), JSON.stringify({
      name: 'inventory-app',
      private: true,
      type: 'module',
      dependencies: { 'vgi-rpc-actors': `file:${tarball}`, effect: own.devDependencies.effect },
      // The package's one install script builds the shm addon; a user approves it like this
      // (`npm install-scripts approve vgi-rpc-actors` writes the key; a tarball is keyed by its path).
      allowScripts: { [`file:${tarball}`]: true },
    }));
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir });
    installLog = `${install.stdout}\n${install.stderr}`;
    out = join(dir, 'out');
    for (const [name, body] of await readmeSnippets()) await writeFile(join(dir, name), body);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
        skipLibCheck: false, outDir: 'out', rootDir: '.', typeRoots: [join(root, 'node_modules/@types')], types: ['node'],
      },
      include: ['*.ts'],
    }));
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: dir }).catch((e: { stdout?: string }) => {
      throw new Error(`the README snippets do not compile against the packed package:\n${e.stdout ?? String(e)}`);
    });
  }, 180_000);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('ships only the runtime: no tests, benchmarks, examples or CI', () => {
    expect(packedFiles).toContain('dist/src/index.js');
    expect(packedFiles).toContain('dist/transports/server-entry.d.ts');
    const stray = packedFiles.filter((f) => /^(test|bench|examples|\.ci|dist\/(test|bench|examples))\//.test(f));
    expect(stray).toEqual([]);
  });

  it('installs without warnings (its install script approved, no peer conflicts) and builds the shm addon on Linux', () => {
    expect(installLog).not.toMatch(/npm warn/i);
    if (process.platform === 'linux') {
      expect(existsSync(join(dir, 'node_modules/vgi-rpc-actors/native/shm/build/Release/vgi_shm.node')), installLog).toBe(true);
    }
  });

  it('keeps its internals out of reach: only the documented entries resolve', async () => {
    const probe = `for (const s of ['vgi-rpc-actors/dist/transports/serve.js', 'vgi-rpc-actors/transports/serve.js']) {
      try { await import(s); console.log('reachable', s); } catch (e) { console.log(e.code); } }`;
    const out = await node(dir, ['--input-type=module', '-e', probe]);
    expect(out.trim().split('\n')).toEqual(['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
  });

  it('installs the vgi-rpc bin, which names the optional packages it needs when they are absent', async () => {
    const err = await node(dir, [join(dir, 'node_modules/.bin/vgi-rpc'), '--help']).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(/exited 78/);
    expect(err).toMatch(/@effect\/cli/);
  });

  it('page.ts bundles for the browser from the installed `./browser` entry, with no Node module in it', async () => {
    const { build } = await import('esbuild');
    const result = await build({ entryPoints: [join(dir, 'page.ts')], absWorkingDir: dir, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/vgi-rpc-actors/dist/src/browser.js');
    expect(inputs.filter((i) => i.startsWith('node_modules/vgi-rpc-actors/') && !i.startsWith('node_modules/vgi-rpc-actors/dist/src/'))).toEqual([]);
  }, 60_000);

  const expectInventory = (out: string): void => {
    expect(out).toContain('apple 5n');
    expect(out).toContain('take failed: ValueError only 3 of pear in stock');
    expect(out).toMatch(/page \[ \{ sku: 'apple', qty: 5n \}, \{ sku: 'pear', qty: 3n \} \]/);
    expect(out).toContain('totals [ 1, 5 ]');
  };

  it('client.js spawns main.js as a stdio server and calls every kind of method', async () => {
    expectInventory(await node(out, ['client.js']));
  }, 60_000);

  for (const [label, listen, extra] of [
    ['a unix socket, workers accepting', (d: string) => ['--unix', join(d, 'inventory.sock')], ['--workers', '2']],
    ['TCP, the main thread relaying to the workers', () => ['--tcp', '127.0.0.1:0'], ['--workers', '2', '--accept', 'relay']],
    ['TCP on the main thread', () => ['--tcp', '127.0.0.1:0'], ['--workers', '0']],
    // Without the optional uWebSockets.js and zstd-napi: node:http, gzip only.
    ['HTTP, the workers answering', () => ['--http'], ['--workers', '2']],
  ] as const) {
    it(`main.js serves on ${label}; client.js calls it with the discovery line; SIGTERM drains to exit 0`, async () => {
      let stderr = '';
      const server = await spawnFirstLine(join(out, 'main.js'), [...listen(dir), ...extra], (s) => s.on('data', (d: Buffer) => { stderr += d.toString(); }));
      try {
        expect(server.line, stderr).toMatch(/^(UNIX|TCP|PORT):/);
        expectInventory(await node(out, ['client.js', server.line!]));
      } finally {
        server.child.kill('SIGTERM');
      }
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }, 60_000);
  }

  it('http.js serves over HTTP (node:http without the optional uWebSockets.js) and calls itself with the HTTP client', async () => {
    expect(await node(out, ['http.js'])).toMatch(/kiwi rows: 1, served on PORT:\d+/);
  }, 60_000);

  it('sticky.js keeps each shopper\'s cart in a sticky session on the worker that opened it (HTTP, two workers)', async () => {
    const { out: printed, err } = await nodeOutput(out, ['sticky.js']);
    expect(printed, err).toContain("[ 'ann: apple, pear', 'bob: kiwi' ]");
  }, 60_000);

  it('the container example: the manifest runs the Dockerfile\'s command; the pod\'s command serves cart-main.js, readiness turns 503 on SIGTERM, the open session serves through the drain, and the process exits 0', async () => {
    const example = readContainerExample(root);
    const { command, manifest } = example;
    // The manifest runs the image's command (adding what only a cluster needs), on the port it exposes and probes,
    // and gives the pod longer than the server's grace, so the drain ends before the kill.
    expect(command[0]).toBe('node');
    expect(manifest.args.slice(0, command.length - 1)).toEqual(command.slice(1));
    const port = Number(flagValue(command, '--port'));
    expect([example.exposed, manifest.containerPort, manifest.readiness.port, manifest.liveness.port]).toEqual([port, port, port, port]);
    expect(Number(flagValue(command, '--grace'))).toBeLessThan(manifest.terminationGraceSeconds);
    // Run the pod's command (the image's, with the manifest's args, their $(VAR)s expanded as Kubernetes does) in
    // the application's directory, on a free local port.
    const env: Record<string, string> = { POD_NAME: 'cart-6b7f9-x2k4q', TOKEN_KEY: 'a key every pod shares' };
    const expanded = manifest.args.map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? `$(${name})`));
    const args = withFlag(withFlag(expanded.slice(1), '--host', '127.0.0.1'), '--port', '0');
    let stderr = '';
    const server = await spawnFirstLine(join(dir, expanded[0]!), args, (s) => s.on('data', (d: Buffer) => { stderr += d.toString(); }));
    try {
      expect(server.line, stderr).toMatch(/^PORT:\d+$/);
      const origin = `http://127.0.0.1:${server.line!.slice('PORT:'.length)}`;
      const status = async (path: string): Promise<number> => (await fetch(`${origin}${path}`)).status;
      expect([await status(manifest.readiness.path), await status(manifest.liveness.path)]).toEqual([200, 200]);
      // The pod's name is its server id.
      expect(((await (await fetch(`${origin}/health`)).json()) as { server_id: string }).server_id).toBe(env.POD_NAME);
      const conn = await httpConnect(origin);
      const session = conn.withSession();
      const cart = Client.promises(CartCalls, session);
      await cart.open({});
      await cart.add({ sku: 'fig' });
      const t0 = Date.now();
      server.child.kill('SIGTERM');
      while ((await status(manifest.readiness.path)) !== 503) {
        expect(Date.now() - t0, 'readiness still 200 after SIGTERM').toBeLessThan(5_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await status(manifest.liveness.path)).toBe(200);
      expect(await cart.add({ sku: 'date' })).toBe(2n);
      const refused = await Client.promises(CartCalls, conn.withSession()).open({}).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RpcClientError);
      expect((refused as RpcClientError).errorType).toBe('ServerDrainingError');
      expect(await cart.checkout({})).toBe('fig, date');
      // The drain ended with the last session, well before the 25 s grace.
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(15_000);
      await conn.close();
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 60_000);

  it('shm.js calls a worker thread over SharedArrayBuffer channels and a subprocess through a shared-memory segment, leaving no segment', async () => {
    const before = new Set(existsSync('/dev/shm') ? readdirSync('/dev/shm') : []);
    const printed = await node(out, ['shm.js']);
    expect(printed).toMatch(/in-process: 3\n/);
    if (process.platform === 'linux') {
      expect(printed).toMatch(/segment: 1\n/);
      expect(readdirSync('/dev/shm').filter((n) => !before.has(n) && n.startsWith('vgi_'))).toEqual([]);
    }
  }, 60_000);

  /** The README's bundling command, run once in the project (where main.ts and worker.ts are); resolves to the bundled main.js. */
  let bundling: Promise<string> | undefined;
  const bundledMain = (): Promise<string> => (bundling ??= (async () => {
    const command = readmeBundleCommand(join(root, 'README.md'));
    expect(command.entries).toEqual(['main.ts', 'worker.ts']);
    const outdir = command.flags.find((f) => f.startsWith('--outdir='))?.slice('--outdir='.length);
    if (outdir === undefined) throw new Error(`the README's esbuild command has no --outdir=: ${command.flags.join(' ')}`);
    await run(join(root, 'node_modules/.bin/esbuild'), [...command.entries, ...command.flags, '--log-level=warning'], { cwd: dir });
    return join(dir, outdir, 'main.js');
  })());

  it('the README\'s esbuild command bundles main.ts and worker.ts from the installed package, piscina left external', async () => {
    const main = await bundledMain();
    const outdir = join(main, '..');
    expect(existsSync(join(outdir, 'worker.js'))).toBe(true);
    // Bundled: of the packages, only piscina is still imported (by name) at run time.
    const bare = new Set<string>();
    for (const f of readdirSync(outdir).filter((n) => n.endsWith('.js'))) {
      const text = await readFile(join(outdir, f), 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
        if (!m[1]!.startsWith('./') && !m[1]!.startsWith('node:')) bare.add(m[1]!);
      }
    }
    expect([...bare]).toEqual(['piscina']);
  }, 60_000);

  it('a stdio server with no worker thread does not load the worker pool, HTTP, zstd or the CLI, bundled or not', async () => {
    const plain = await loadedModules(dir, join(out, 'main.js'));
    expect(plain.some((u) => u.endsWith('/node_modules/vgi-rpc-actors/dist/transports/pipe/stdio-main.js'))).toBe(true);
    expect(plain.filter((u) => unusedAtStartup.test(u))).toEqual([]);
    const bundled = await loadedModules(dir, await bundledMain());
    expect(bundled.some((u) => u.includes('/node_modules/'))).toBe(false);
    expect(bundled.filter((u) => unusedAtStartup.test(u))).toEqual([]);
  }, 60_000);

  for (const workers of ['0', '2']) {
    it(`the bundled main.js serves over stdio with ${workers} worker threads, with shm available`, async () => {
      const main = await bundledMain();
      // cwd elsewhere: the bundle finds the installed package (shm addon, tracker) from its own location.
      const command: [string, ...string[]] = [process.execPath, main, '--stdio', '--workers', workers];
      const conn = await open({ command, spawn: { cwd: tmpdir() } });
      try {
        await conn.transport.write(requestBytes(emptySchema(), [], 0, { [Keys.method]: TRANSPORT_OPTIONS_METHOD, [Keys.requestVersion]: '1' }));
        const reply = await readResponse(conn.transport);
        if (process.platform === 'linux') expect(reply.batches[0]!.metadata!.get(Keys.transportShm)).toBe('true');
        const inventory = Client.promises(InventoryCalls, conn);
        expect(await inventory.add({ sku: 'apple', qty: 5n })).toBe(5n);
        expect(await inventory.add({ sku: 'pear', qty: 3n })).toBe(3n);
        const rows: unknown[] = [];
        for await (const batch of await inventory.list({})) rows.push(...batch.rows());
        expect(rows).toEqual([{ sku: 'apple', qty: 5n }, { sku: 'pear', qty: 3n }]);
      } finally {
        await conn.close();
      }
      if (process.platform !== 'linux') return;
      // And a client segment: the bundled server attaches it with the addon it found.
      const withSegment = await open({ command, spawn: { cwd: tmpdir() }, shm: { size: 1024 * 1024 } });
      try {
        expect(await Client.promises(InventoryCalls, withSegment).add({ sku: 'plum', qty: 2n })).toBe(2n);
      } finally {
        await withSegment.close();
      }
    }, 60_000);
  }

  it('app.js serves in an Effect Scope, calls through `connect`, and drains when the Scope closes', async () => {
    expect(await node(out, ['app.js'])).toMatch(/fig: 5 left, served on TCP:127\.0\.0\.1:\d+/);
  }, 60_000);
});
