/**
 * The HTML pages as a person sees them: each is loaded from the HTTP server
 * (startServer hosting the conformance services, on the main thread and on
 * worker threads) in headless Chromium (Debian's, driven by playwright-core)
 * and checked by what it shows, and a screenshot of each is written under
 * this run's temp dir.
 *
 * Skipped where /usr/bin/chromium is absent, unless VGI_REQUIRE_BROWSER=1
 * (set by .ci/run, which installs chromium), so CI cannot skip it silently.
 * Set VGI_PAGES_SCREENSHOTS=<dir> to keep the screenshots there instead.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceHosting } from '../../examples/conformance/hosting.js';
import { type RunningServer, startServer } from '../../transports/server-entry.js';

const workerModule = new URL('../../dist/examples/conformance/worker-thread.js', import.meta.url);

/**
 * The HTTP server hosting the conformance services (ConformanceService,
 * conformance.Secondary.v1 and Reflection, no prefix) with the given server
 * id: on the main thread (`workers: 0`, the pages come from its own
 * dispatcher) or on worker threads (the pages come from a worker's page model).
 */
async function servePages(serverId: string, workers: number): Promise<{ origin: string; server: RunningServer; close(): Promise<void> }> {
  const { services, layer } = conformanceHosting(90);
  const server = await startServer({ listen: { kind: 'http' }, services, layer, workers, workerModule, serverId });
  if (server.address.kind !== 'http') throw new Error(`expected an HTTP server, got ${server.address.kind}`);
  return { origin: server.address.url, server, close: () => server.drain() };
}

const CHROMIUM = '/usr/bin/chromium';
const SERVER_ID = 'pages-in-a-browser';
const run = existsSync(CHROMIUM) || process.env.VGI_REQUIRE_BROWSER === '1';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const VIEWPORT = { width: 1100, height: 800 };
const keep = process.env.VGI_PAGES_SCREENSHOTS || undefined;

describe.skipIf(!run)('HTML pages in headless Chromium', () => {
  let served: { origin: string; close(): Promise<void> };
  let browser: Browser;
  let shots: string;
  /** Bytes of a screenshot of an empty page: what a page that drew nothing would weigh. */
  let blankBytes: number;

  beforeAll(async () => {
    shots = keep ?? mkdtempSync(join(tmpdir(), 'vgi-pages-'));
    mkdirSync(shots, { recursive: true });
    served = await servePages(SERVER_ID, 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
    const ctx = await browser.newContext({ viewport: VIEWPORT });
    const blank = await ctx.newPage();
    await blank.setContent('<!DOCTYPE html><html><body style="background:#faf8f0"></body></html>');
    blankBytes = (await blank.screenshot()).byteLength;
    await ctx.close();
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    if (shots !== undefined && keep === undefined) rmSync(shots, { recursive: true, force: true });
  });

  /** A fresh page that records every URL it asks for, so a test can prove nothing left the server. */
  const open = async (): Promise<{ page: Page; ctx: BrowserContext; requested: string[] }> => {
    const ctx = await browser.newContext({ viewport: VIEWPORT });
    const page = await ctx.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    return { page, ctx, requested };
  };

  /** Screenshot the page to `name`.png and check it is a real PNG of the viewport with something drawn on it. */
  const screenshot = async (page: Page, name: string): Promise<void> => {
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file });
    const png = readFileSync(file);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    expect(png.byteLength).toBeGreaterThan(blankBytes * 2);
  };

  const expectOnlyOrigin = (requested: readonly string[], origin = served.origin): void => {
    expect(requested.length).toBeGreaterThan(0);
    for (const url of requested) expect(url.startsWith(`${origin}/`)).toBe(true);
  };

  it('shows the landing page, which links to the describe page', async () => {
    const { page, ctx, requested } = await open();
    const res = await page.goto(`${served.origin}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.title()).toBe('ConformanceService \u2014 vgi-rpc');
    expect(await page.locator('h1').innerText()).toBe('ConformanceService');
    const text = await page.locator('body').innerText();
    expect(text).toContain('This is a vgi-rpc service endpoint.');
    expect(text).toContain('Hosted protocols: ConformanceService v2.0.0 \u00b7 conformance.Secondary.v1 \u00b7 vgi_rpc.Reflection.v1');
    expect(text).toContain(`server ${SERVER_ID}`);
    await screenshot(page, 'landing');
    await page.getByRole('link', { name: 'View service API' }).click();
    await page.waitForURL(`${served.origin}/describe`);
    expect(await page.title()).toBe('ConformanceService API Reference \u2014 vgi-rpc');
    expectOnlyOrigin(requested);
    await ctx.close();
  });

  it('shows every method of the describe page with its badges, parameters, defaults and docs', async () => {
    const { page, ctx, requested } = await open();
    const res = await page.goto(`${served.origin}/describe`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.locator('h1').innerText()).toBe('ConformanceService');
    expect(await page.locator('.header').innerText()).toContain(`server ${SERVER_ID}`);

    const primary = page.locator('section[id="ConformanceService"]');
    expect(await primary.locator('h2').innerText()).toBe('ConformanceService');
    expect(await primary.locator('.protocol-meta').innerText()).toMatch(/^version 2\.0\.0 · hash [0-9a-f]{64} · 90 methods$/);
    expect(await primary.locator('.card').count()).toBe(90);

    const card = (section: typeof primary, method: string) =>
      section.locator('.card').filter({ has: page.locator('.method-name', { hasText: new RegExp(`^${method}$`) }) });
    const concatenate = card(primary, 'concatenate');
    expect(await concatenate.locator('.badge').allInnerTexts()).toEqual(['UNARY']);
    expect(await concatenate.locator('.docstring').innerText()).toBe('Join prefix and suffix with the separator.');
    const rows = await concatenate.locator('tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t'))).toEqual([
      ['Name', 'Type', 'Default'],
      ['prefix', 'string', '\u2014'],
      ['suffix', 'string', '\u2014'],
      ['separator', 'string', "'-'"],
      ['Name', 'Type'],
      ['result', 'string'],
    ]);
    expect(await concatenate.locator('.section-label').allInnerTexts()).toEqual(['PARAMETERS', 'RETURNS']);

    const withDefaults = await card(primary, 'with_defaults').locator('tr').allInnerTexts();
    expect(withDefaults).toContain("optional_str\tstring\t'default'");
    expect(withDefaults).toContain('optional_int\tint64\t42');

    const header = card(primary, 'produce_with_header');
    expect(await header.locator('.badge').allInnerTexts()).toEqual(['STREAM', 'PRODUCER', 'HEADER']);
    expect(await header.locator('.section-label').allInnerTexts()).toEqual(['PARAMETERS', 'STREAM HEADER', 'STREAM OUTPUT']);
    expect(await header.innerText()).toContain('Send a header announcing the count, then count batches.');

    const scale = card(primary, 'exchange_scale');
    expect(await scale.locator('.badge').allInnerTexts()).toEqual(['STREAM', 'EXCHANGE']);
    expect(await scale.locator('tr').allInnerTexts()).toContain('factor\tdouble\t\u2014');

    expect(await card(primary, 'produce_empty').locator('.no-params').innerText()).toBe('No parameters');

    const secondary = page.locator('section[id="conformance.Secondary.v1"]');
    expect(await secondary.locator('.protocol-meta').innerText()).toMatch(/^no protocol version · hash [0-9a-f]{64} · 3 methods$/);
    const echo = card(secondary, 'echo_string');
    expect(await echo.locator('.docstring').innerText()).toBe('Return the value prefixed with "secondary:".');
    expect(await echo.locator('tr').allInnerTexts()).toContain('value\tstring\t\u2014');

    expect(await page.locator('.framework').innerText()).toBe('Framework protocols also hosted: vgi_rpc.Reflection.v1');
    await screenshot(page, 'describe');
    expectOnlyOrigin(requested);
    await ctx.close();
  });

  it('answers any other path with a 404 page that names it', async () => {
    const { page, ctx, requested } = await open();
    const res = await page.goto(`${served.origin}/no/such/page?x=1`);
    expect(res?.status()).toBe(404);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.title()).toBe('404 \u2014 vgi-rpc');
    expect(await page.locator('h1').innerText()).toBe('404 \u2014 Not Found');
    const text = await page.locator('body').innerText();
    expect(text).toContain('Nothing is served at /no/such/page.');
    expect(text).toContain('This is a vgi-rpc service endpoint serving ConformanceService.');
    expect(text).toContain('RPC methods are available under /<protocol>/<method>.');
    await screenshot(page, 'not-found');
    await page.getByRole('link', { name: 'Service home' }).click();
    await page.waitForURL(`${served.origin}/`);
    expect(await page.locator('h1').innerText()).toBe('ConformanceService');
    expectOnlyOrigin(requested);
    await ctx.close();
  });

  it('shows the same describe page from a server whose calls run on worker threads', async () => {
    const pooled = await servePages(`${SERVER_ID}-pooled`, 2);
    try {
      expect(pooled.server.runtime.workers).toBe(2);
      const { page, ctx, requested } = await open();
      const res = await page.goto(`${pooled.origin}/describe`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
      expect(await page.title()).toBe('ConformanceService API Reference \u2014 vgi-rpc');
      expect(await page.locator('.header').innerText()).toContain(`server ${SERVER_ID}-pooled`);
      const primary = page.locator('section[id="ConformanceService"]');
      expect(await primary.locator('.protocol-meta').innerText()).toMatch(/^version 2\.0\.0 · hash [0-9a-f]{64} · 90 methods$/);
      expect(await primary.locator('.card').count()).toBe(90);
      const concatenate = primary.locator('.card').filter({ has: page.locator('.method-name', { hasText: /^concatenate$/ }) });
      expect(await concatenate.locator('.badge').allInnerTexts()).toEqual(['UNARY']);
      expect(await concatenate.locator('tr').allInnerTexts()).toContain("separator\tstring\t'-'");
      expect(await page.locator('section[id="conformance.Secondary.v1"] .card').count()).toBe(3);
      await screenshot(page, 'describe-workers');
      expectOnlyOrigin(requested, pooled.origin);
      await ctx.close();
    } finally {
      await pooled.close();
    }
  });
});
