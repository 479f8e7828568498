/**
 * The package's `./browser` entry in a browser: esbuild bundles a small page
 * script (fixtures/browser-page.ts, which imports only
 * `vgi-rpc-actors/browser`, resolved through package.json `exports` to the
 * built dist/) for the browser; a page served from its own origin loads it
 * in headless Chromium and calls our HTTP server (the conformance services
 * on two worker threads, CORS open to any origin): a unary call, a large
 * zstd-compressed answer, a producer stream of several batches, an exchange
 * of several round trips and a typed error. The page shows its report and
 * the test reads it. A server without CORS is refused by the browser, which
 * shows the page really runs under the browser's rules.
 *
 * Skipped where /usr/bin/chromium is absent, unless VGI_REQUIRE_BROWSER=1
 * (set by .ci/run, which installs chromium), so CI cannot skip it silently.
 */
import { existsSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceHosting } from '../../examples/conformance/hosting.js';
import { type RunningServer, startServer } from '../../transports/server-entry.js';
import { staleOutputs } from '../support/stale-build.js';
import type { Report } from './fixtures/browser-page.js';

const CHROMIUM = '/usr/bin/chromium';
const run = existsSync(CHROMIUM) || process.env.VGI_REQUIRE_BROWSER === '1';
const PAGE_SCRIPT = new URL('./fixtures/browser-page.ts', import.meta.url).pathname;
const workerModule = new URL('../../dist/examples/conformance/worker-thread.js', import.meta.url);

/** The page: loads the bundle, runs it against the server named in `?server=` and shows the report (or the failure). */
const HTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>vgi-rpc in a browser</title></head>
<body><h1>vgi-rpc in a browser</h1><pre id="report" data-state="running">running</pre>
<script type="module">
import { run } from '/page.js';
const out = document.getElementById('report');
run(new URLSearchParams(location.search).get('server')).then(
  (report) => { out.textContent = JSON.stringify(report); out.dataset.state = 'done'; },
  (e) => { out.textContent = (e && e.name ? e.name + ': ' : '') + (e && e.message || String(e)); out.dataset.state = 'failed'; },
);
</script></body></html>`;

/** Packages the bundled page may contain besides our dist/src modules. */
const BROWSER_PACKAGES = new Set(['apache-arrow', 'effect', 'flatbuffers', 'fzstd', 'tslib']);

/** The package an esbuild input path belongs to, or undefined for a file of ours. */
const packageOf = (input: string): string | undefined => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
};

/** The coding an answer came in, with the header that named it. */
const codingOf = (h: Record<string, string>): string | undefined =>
  h['x-vgi-content-encoding'] !== undefined ? `X-VGI-Content-Encoding: ${h['x-vgi-content-encoding']}` : h['content-encoding'] !== undefined ? `Content-Encoding: ${h['content-encoding']}` : undefined;

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const startConformance = async (workers: number, cors: boolean): Promise<RunningServer & { url: string }> => {
  const { services, layer } = conformanceHosting(90);
  const server = await startServer({ listen: { kind: 'http' }, services, layer, workers, workerModule, http: cors ? { cors: { origins: '*' } } : {} });
  if (server.address.kind !== 'http') throw new Error(`expected an HTTP server, got ${server.address.kind}`);
  return { ...server, url: server.address.url };
};

describe.skipIf(!run)('the ./browser entry, bundled for and run in headless Chromium', () => {
  let bundle: { code: string; inputs: string[] };
  let pageServer: Server;
  let pageOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    const stale = staleOutputs('src/browser.ts');
    if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    const result = await build({
      entryPoints: [PAGE_SCRIPT],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    bundle = { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
    pageServer = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(HTML);
      else if (path === '/page.js') res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(bundle.code);
      else res.writeHead(404).end();
    });
    pageOrigin = await listen(pageServer);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (pageServer === undefined ? resolve() : pageServer.close(() => resolve())));
  });

  /** Open the page against `server`; resolves with what it showed and the requests it made. */
  const openPage = async (server: string, acceptEncoding?: string): Promise<{ state: string; text: string; page: Page; requests: { method: string; url: string; coding: string | undefined }[]; errors: string[] }> => {
    const ctx = await browser.newContext(acceptEncoding === undefined ? {} : { extraHTTPHeaders: { 'Accept-Encoding': acceptEncoding } });
    const page = await ctx.newPage();
    const requests: { method: string; url: string; coding: string | undefined }[] = [];
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const pending: Promise<unknown>[] = [];
    page.on('response', (r) => {
      pending.push(r.allHeaders().then((h) => requests.push({ method: r.request().method(), url: r.url(), coding: codingOf(h) })));
    });
    await page.goto(`${pageOrigin}/?server=${encodeURIComponent(server)}`);
    const report = page.locator('#report');
    await page.locator('#report:not([data-state="running"])').waitFor({ timeout: 60_000 });
    await Promise.all(pending);
    const state = (await report.getAttribute('data-state')) ?? '';
    return { state, text: await report.innerText(), page, requests, errors };
  };

  it('bundles from the built entry alone: our modules come from dist/src, the rest is a few browser packages', () => {
    const ours = bundle.inputs.filter((i) => packageOf(i) === undefined);
    expect(ours).toContain('test/client/fixtures/browser-page.ts');
    expect(ours).toContain('dist/src/browser.js');
    expect(ours).toContain('dist/src/client/http/http-connection.js');
    expect(ours.filter((i) => i !== 'test/client/fixtures/browser-page.ts' && !i.startsWith('dist/src/'))).toEqual([]);
    const packages = new Set(bundle.inputs.map(packageOf).filter((p) => p !== undefined));
    expect([...packages].filter((p) => !BROWSER_PACKAGES.has(p!))).toEqual([]);
    expect(packages.has('apache-arrow')).toBe(true);
  });

  // Chromium offers zstd in its own Accept-Encoding, so answers come under Content-Encoding and the browser decodes them.
  // A browser that offers only gzip, deflate and br (as older ones do; here Chromium told so) gets zstd under the custom
  // label, which no browser knows: the client decodes it itself (fzstd).
  for (const [label, acceptEncoding, coding] of [
    ['Chromium', undefined, 'Content-Encoding: zstd'],
    ['a browser whose fetch offers no zstd', 'gzip, deflate, br', 'X-VGI-Content-Encoding: zstd'],
  ] as const) {
    it(`calls the server from the page in ${label}: unary, a compressed answer, a producer, an exchange and a typed error`, async () => {
      const server = await startConformance(2, true);
      try {
        const { state, text, page, requests, errors } = await openPage(server.url, acceptEncoding);
        expect(errors).toEqual([]);
        expect(state, text).toBe('done');
        const report = JSON.parse(text) as Report;
        // The capability headers reach the page only through CORS' exposed list (without them the client assumes zstd only).
        expect(report.encodings).toEqual(['zstd', 'gzip']);
        expect(report.echo).toBe('grüße from a browser ✓');
        expect(report.bigEcho).toBe(8 * 32 * 1024);
        expect(report.concatenated).toBe('a-b');
        expect(report.produced).toEqual([0, 1, 2, 3].map((i) => [{ index: String(i), value: String(i * 10) }]));
        expect(report.exchanged).toEqual([
          { running_sum: 3, exchange_count: '1' },
          { running_sum: 6, exchange_count: '2' },
          { running_sum: 11, exchange_count: '3' },
        ]);
        expect(report.error).toEqual({ isRpcClientError: true, errorType: 'ValueError', message: expect.stringContaining('refused in the browser') });

        // What went over the wire: every call from the page's origin to the server's, one request per call or turn.
        const rpc = requests.filter((r) => r.url.startsWith(`${server.url}/`) && r.method !== 'OPTIONS');
        const paths = rpc.map((r) => `${r.method} ${new URL(r.url).pathname}`);
        expect(paths[0]).toBe('HEAD /health');
        expect(paths.filter((p) => p === 'POST /ConformanceService/echo_string')).toHaveLength(2);
        expect(paths).toContain('POST /ConformanceService/produce_n/init');
        expect(paths.filter((p) => p === 'POST /ConformanceService/produce_n/exchange').length).toBeGreaterThanOrEqual(3);
        expect(paths).toContain('POST /ConformanceService/exchange_accumulate/init');
        expect(paths.filter((p) => p === 'POST /ConformanceService/exchange_accumulate/exchange').length).toBeGreaterThanOrEqual(3);
        expect(paths).toContain('POST /ConformanceService/raise_value_error');
        // The answers large enough to be worth it came zstd-coded, under the header this browser's offer leads
        // to; small ones (under the server's COMPRESS_MIN_BYTES) came plain: no other coding appears.
        expect(new Set(rpc.filter((r) => r.method === 'POST').map((r) => r.coding ?? 'plain'))).toEqual(new Set([coding, 'plain']));
        await page.context().close();
      } finally {
        await server.drain();
      }
    }, 120_000);
  }

  it('is refused by the browser when the server does not allow the page origin (no CORS)', async () => {
    const server = await startConformance(0, false);
    try {
      const { state, text, page } = await openPage(server.url);
      expect(state).toBe('failed');
      expect(text).toMatch(/^RpcClientError: cannot connect to /);
      await page.context().close();
    } finally {
      await server.drain();
    }
  }, 60_000);
});
