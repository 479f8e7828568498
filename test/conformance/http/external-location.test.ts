/**
 * Port of TestExternalLocation (7 tests) from the reference conformance
 * suite, Query-farm/vgi-rpc-python vgi_rpc/conformance/_pytest_suite.py @
 * 749b55029f39211deb0687ac469f474349308b58.
 *
 * The reference drives these through its HTTP client with an external
 * location config and no URL validator; here a raw client does the same
 * wire work (`RawHttpClient`: fetches `vgi_rpc.location` pointers, and on a
 * 413 uploads the request to a server-vended URL and re-sends a pointer).
 * Requests go uncompressed (the reference client compresses by default;
 * compression is not what this group tests).
 *
 * Fixtures: `conformance_fake_storage` is the in-process fake storage of
 * http-stream-support.ts; `conformance_http_with_storage_port` and
 * `conformance_http_with_zstd_storage_port` are the worker started with
 * `--fake-storage <url>` (plus `--compression zstd`). Such a worker
 * externalizes response batches over its 4 KiB default threshold, vends
 * upload URLs from the same storage, and advertises `max_request_bytes`
 * (the threshold, unless `--max-request-bytes` says otherwise) and
 * `max_upload_bytes`.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { httpGroup, httpWorker } from '../http-harness.js';
import { RawHttpClient, capabilities, requestUploadUrls, useFakeStorage, withStorageHttp, withZstdStorageHttp } from './http-stream-support.js';

const fakeStorage = useFakeStorage();

/** `_connect(conformance_http_with_storage_port)`. */
const withStorage = async (): Promise<RawHttpClient> => new RawHttpClient(await httpWorker(withStorageHttp((await fakeStorage()).url)));

httpGroup('TestExternalLocation', () => {
  it('test_small_payload_inline', async () => {
    const proxy = await withStorage();
    expect(await proxy.call('echo_string', { value: 'small' })).toBe('small');
  });

  it('test_large_payload_externalized', async () => {
    const big = 'x'.repeat(32_000);
    const proxy = await withStorage();
    expect(await proxy.call('echo_large_string', { value: big })).toBe(big);
  });

  it('test_large_payload_externalized_with_zstd', async () => {
    const big = 'vgi-rpc '.repeat(8000).trim();
    const proxy = new RawHttpClient(await httpWorker(withZstdStorageHttp((await fakeStorage()).url)));
    expect(await proxy.call('echo_large_string', { value: big })).toBe(big);
  });

  it('test_capabilities_advertise_externalization', async () => {
    const caps = await capabilities(await httpWorker(withStorageHttp((await fakeStorage()).url)));
    expect(caps.uploadUrlSupport).toBe(true);
    expect(caps.maxRequestBytes).not.toBeNull();
    expect(caps.maxRequestBytes!).toBeGreaterThan(0);
    expect(caps.maxUploadBytes).not.toBeNull();
    expect(caps.maxUploadBytes!).toBeGreaterThan(0);
  });

  it('test_request_upload_urls_returns_pairs', async () => {
    const storage = await fakeStorage();
    const worker = await httpWorker(withStorageHttp(storage.url));
    const before = await storage.objectCount();
    const urls = await requestUploadUrls(worker, 2);
    expect(urls).toHaveLength(2);
    for (const u of urls) {
      expect(typeof u.uploadUrl).toBe('string');
      expect(u.uploadUrl).not.toBe('');
      expect(typeof u.downloadUrl).toBe('string');
      expect(u.downloadUrl).not.toBe('');
    }

    const payload = new TextEncoder().encode('client-vended upload contents');
    const put = await fetch(urls[0]!.uploadUrl, { method: 'PUT', body: payload });
    await put.arrayBuffer();
    expect(put.status, `PUT failed: ${put.status}`).toBe(204);
    const got = await fetch(urls[0]!.downloadUrl);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(payload);

    // Each request_upload_urls(count=2) call performs at least one allocation per URL.
    const after = await storage.objectCount();
    expect(after).toBeGreaterThanOrEqual(before + 1);
  });

  it('test_externalization_uses_fake_storage', async () => {
    const storage = await fakeStorage();
    const before = await storage.objectCount();
    const big = 'z'.repeat(32_000);
    const proxy = await withStorage();
    expect(await proxy.call('echo_large_string', { value: big })).toBe(big);
    const after = await storage.objectCount();
    expect(after, `expected new objects in fake storage, before=${before} after=${after}`).toBeGreaterThan(before);
  });

  it('test_client_to_server_auto_externalization', async () => {
    const storage = await fakeStorage();
    const before = await storage.objectCount();
    // High-entropy (hex of random bytes): 40,000 characters no codec shrinks under max_request_bytes.
    const big = randomBytes(20_000).toString('hex');
    const proxy = await withStorage();
    expect(await proxy.call('echo_large_string', { value: big })).toBe(big);
    const after = await storage.objectCount();
    // At least 2 new objects: the client's request upload and the server's response upload.
    expect(after, `expected ≥2 new objects (1 request + 1 response), before=${before} after=${after}`).toBeGreaterThanOrEqual(before + 2);
  });
}, 'storage');
