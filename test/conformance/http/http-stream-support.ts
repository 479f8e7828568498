/**
 * Raw HTTP helpers for the ported HTTP stream, cap, token, external-location
 * and sticky groups of the reference conformance suite
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550). They speak the wire
 * directly (Arrow IPC bodies POSTed with `fetch`), so the groups test the
 * server without depending on an HTTP client of ours. Also: the worker
 * fixture specs these groups use, and a small in-process port of the
 * reference's fake object storage (vgi_rpc/conformance/fake_storage.py).
 */
import { createHash, randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as A from 'apache-arrow';
import { afterAll } from 'vitest';
import { decompress as zstdDecompress } from 'zstd-napi';
import { type MethodDef, fieldEntries } from '../../../src/service/method.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { concatBytes } from '../../../src/wire/batch-encoder.js';
import { type DecodedBatch, StreamReader, decodeOneStream } from '../../../src/wire/stream-reader.js';
import { ConformanceService } from '../../../examples/conformance/service.js';
import { requestBytes, route } from '../../support/raw-exchange.js';
import type { HttpFixtureSpec, HttpWorker } from '../http-harness.js';
import { ARROW_CONTENT_TYPE, type HttpReply, postArrow, readStreams, rpcPath, unaryRequestBody } from './http-support.js';

// ---------------------------------------------------------------------------
// Fixture specs (the reference runners' `conformance_http_*` fixtures)
// ---------------------------------------------------------------------------

/** `conformance_http_strict_cap_port`: 1 MiB body and external caps (the reference's strict worker, the peer's `--strict`). */
export const STRICT_CAP_HTTP: HttpFixtureSpec = {
  name: 'conformance_http_strict_cap_port',
  flags: ['--max-response-bytes', String(1024 * 1024), '--max-externalized-response-bytes', String(1024 * 1024)],
};

/** `conformance_http_cold_call_cache_port`: every continuation must resolve the echoed call token. */
export const COLD_CALL_CACHE_HTTP: HttpFixtureSpec = { name: 'conformance_http_cold_call_cache_port', flags: ['--no-call-state-cache'] };

/** `conformance_http_sticky_short_ttl_port`: sticky sessions with a 1 s default TTL. */
export const STICKY_SHORT_TTL_HTTP: HttpFixtureSpec = { name: 'conformance_http_sticky_short_ttl_port', flags: ['--sticky-ttl', '1'] };

/** The AEAD key both sticky peers share, so a rejection must come from the server_id check. */
export const STICKY_PEER_TOKEN_KEY = '5f'.repeat(32);

/** `conformance_http_sticky_peer_ports`: two sticky workers, one token key, distinct server ids. */
export const STICKY_PEER_HTTP: readonly [HttpFixtureSpec, HttpFixtureSpec] = [
  { name: 'conformance_http_sticky_peer_ports[a]', flags: ['--token-key', STICKY_PEER_TOKEN_KEY, '--server-id', 'conformance-peer-a'] },
  { name: 'conformance_http_sticky_peer_ports[b]', flags: ['--token-key', STICKY_PEER_TOKEN_KEY, '--server-id', 'conformance-peer-b'] },
];

/** `conformance_http_sticky_auth_port`: `X-Conformance-Principal: <name>` authenticates as that principal. */
export const STICKY_AUTH_HTTP: HttpFixtureSpec = { name: 'conformance_http_sticky_auth_port', flags: ['--sticky-auth'] };

/**
 * `conformance_http_serve_start_fail_once_port`: the first on_serve_start
 * notification fails (HTTP 500), its retry succeeds. The harness waits only
 * for `PORT:<n>`, never an HTTP probe, so the failure is left for the test.
 */
export const SERVE_START_FAIL_ONCE_HTTP: HttpFixtureSpec = { name: 'conformance_http_serve_start_fail_once_port', flags: ['--fail-serve-start-once'] };

/**
 * `conformance_http_with_storage_port`: externalization through the fake
 * storage at `storageUrl` (4 KiB threshold, no blob compression); the worker
 * also vends upload URLs and advertises `max_request_bytes`.
 */
export const withStorageHttp = (storageUrl: string): HttpFixtureSpec => ({
  name: 'conformance_http_with_storage_port',
  flags: ['--fake-storage', storageUrl],
  needs: 'storage',
});

/** `conformance_http_with_zstd_storage_port`: as `withStorageHttp`, uploaded blobs zstd-compressed. */
export const withZstdStorageHttp = (storageUrl: string): HttpFixtureSpec => ({
  name: 'conformance_http_with_zstd_storage_port',
  flags: ['--fake-storage', storageUrl, '--compression', 'zstd'],
  needs: 'storage',
});

/** `conformance_http_externalized_cap_port`: tight 64 KiB external cap, generous 8 MiB body cap. */
export const externalizedCapHttp = (storageUrl: string): HttpFixtureSpec => ({
  name: 'conformance_http_externalized_cap_port',
  flags: ['--fake-storage', storageUrl, '--max-externalized-response-bytes', String(64 * 1024), '--max-response-bytes', String(8 * 1024 * 1024)],
  needs: 'storage',
});

// ---------------------------------------------------------------------------
// Raw requests and responses
// ---------------------------------------------------------------------------

/** Accept headers pinning an uncompressed response body (as the reference's raw tests do). */
export const IDENTITY_ENCODING: Readonly<Record<string, string>> = { 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' };

const methodDef = (method: string): MethodDef => {
  const def = (ConformanceService.methods as Record<string, MethodDef | undefined>)[method];
  if (def === undefined) throw new Error(`ConformanceService has no method ${method}`);
  return def;
};

/** `${origin}${prefix}/ConformanceService/{method}{suffix}`. */
export const rpcUrl = (w: HttpWorker, method: string, suffix: '' | '/init' | '/exchange' = ''): string => `${w.origin}${rpcPath(w.prefix, method, suffix)}`;

/** A one-batch stream carrying `metadata` on a zero-row batch of the empty schema (a producer continuation). */
export const emptyBatchBody = (metadata: Record<string, string>): Uint8Array => concatBytes(requestBytes(new A.Schema([]), [], 0, metadata));

/** POST an Arrow body asking for an uncompressed response (unless `headers` say otherwise), with no time limit of its own. */
export const postArrowUncompressed = (url: string, body: Uint8Array, headers: Readonly<Record<string, string>> = {}): Promise<HttpReply> =>
  postArrow(url, body, { ...IDENTITY_ENCODING, ...headers }, Number.POSITIVE_INFINITY);

/** The values of column `name` of a batch. */
export const columnValues = (b: DecodedBatch, name: string): unknown[] => {
  const child = b.toRecordBatch().getChild(name);
  if (child === null) throw new Error(`batch has no column ${name} (columns: ${b.schema.fields.map((f) => f.name).join(', ')})`);
  return Array.from({ length: b.numRows }, (_, i) => child.get(i) as unknown);
};

/** The reference's `RpcError` as seen by a raw client: `message` is `"ErrorType: message"`, as `str(RpcError)`. */
export class WireRpcError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly status: number,
  ) {
    super(`${errorType}: ${errorMessage}`);
  }
}

/** `pytest.raises(RpcError)`: `p` must reject with a WireRpcError, which is returned. */
export const wireError = async (p: Promise<unknown> | (() => Promise<unknown>)): Promise<WireRpcError> => {
  const e = await (typeof p === 'function' ? p() : p).then(
    (v) => new Error(`expected an RpcError, the call succeeded with ${String(v)}`),
    (err: unknown) => err,
  );
  if (!(e instanceof WireRpcError)) throw e instanceof Error ? e : new Error(String(e));
  return e;
};

/** Server capabilities from `OPTIONS {prefix}/health` (the reference's `http_capabilities`). */
export interface Capabilities {
  readonly maxRequestBytes: number | null;
  readonly maxResponseBytes: number | null;
  readonly maxExternalizedResponseBytes: number | null;
  readonly uploadUrlSupport: boolean;
  readonly maxUploadBytes: number | null;
  readonly stickyEnabled: boolean;
  readonly stickyDefaultTtl: number | null;
  readonly stickyEchoHeaders: readonly string[];
}

/** Read the capability headers a worker advertises on `OPTIONS {prefix}/health`. */
export const capabilities = async (w: HttpWorker): Promise<Capabilities> => {
  const res = await fetch(`${w.origin}${w.prefix}/health`, { method: 'OPTIONS' });
  await res.arrayBuffer();
  const int = (name: string): number | null => {
    const raw = res.headers.get(name);
    return raw === null || !/^-?\d+$/.test(raw.trim()) ? null : Number(raw.trim());
  };
  return {
    maxRequestBytes: int('VGI-Max-Request-Bytes'),
    maxResponseBytes: int('VGI-Max-Response-Bytes'),
    maxExternalizedResponseBytes: int('VGI-Max-Externalized-Response-Bytes'),
    uploadUrlSupport: res.headers.get('VGI-Upload-URL-Support') === 'true',
    maxUploadBytes: int('VGI-Max-Upload-Bytes'),
    stickyEnabled: res.headers.get('VGI-Sticky-Enabled') === 'true',
    stickyDefaultTtl: int('VGI-Sticky-Default-TTL'),
    stickyEchoHeaders: (res.headers.get('VGI-Sticky-Echo-Headers') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
  };
};

/** Pre-signed upload/download URL pairs from `{prefix}/__upload_url__/init` (the reference's `request_upload_urls`). */
export const requestUploadUrls = async (w: HttpWorker, count: number): Promise<{ uploadUrl: string; downloadUrl: string }[]> => {
  const schema = new A.Schema([new A.Field('count', new A.Int64(), true)]);
  const count64 = A.vectorFromArray([BigInt(count)], new A.Int64()).data[0]!;
  const res = await postArrowUncompressed(`${w.origin}${w.prefix}/__upload_url__/init`, concatBytes(requestBytes(schema, [count64], 1, route(undefined, '__upload_url__'))));
  if (res.status === 404) throw new WireRpcError('NotSupported', 'Server does not support upload URLs', res.status);
  return (await interpret(res, false)).data.flatMap((b) => {
    const up = columnValues(b, 'upload_url');
    const down = columnValues(b, 'download_url');
    return up.map((u, i) => ({ uploadUrl: String(u), downloadUrl: String(down[i]) }));
  });
};

// ---------------------------------------------------------------------------
// Response interpretation, external pointers
// ---------------------------------------------------------------------------

/** GET without content decoding (`fetch` would undo some codings and not others). */
const getRaw = (url: string): Promise<{ status: number; encoding: string | undefined; body: Uint8Array }> =>
  new Promise((resolve, reject) => {
    httpRequest(url, { method: 'GET' }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', reject);
    }).on('error', reject).end();
  });

/** Fetch an external pointer's payload (decoded, checksum-verified) and return its batches. */
const resolvePointer = async (pointer: DecodedBatch): Promise<DecodedBatch[]> => {
  const url = pointer.meta(Keys.location)!;
  const got = await getRaw(url);
  if (got.status !== 200) throw new WireRpcError('ExternalFetchError', `GET ${url}: HTTP ${got.status}`, got.status);
  const enc = got.encoding?.trim().toLowerCase();
  const bytes = enc === 'zstd' ? new Uint8Array(zstdDecompress(got.body)) : enc === 'gzip' ? new Uint8Array(gunzipSync(got.body)) : got.body;
  const sha = pointer.meta(Keys.locationSha256);
  if (sha !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha) throw new WireRpcError('ExternalFetchError', `SHA-256 checksum mismatch for ${url}: expected ${sha}, got ${actual}`, 200);
  }
  return decodeOneStream(bytes).batches;
};

const isLog = (b: DecodedBatch): boolean => b.meta(Keys.logLevel) !== undefined;

const raiseIfException = (b: DecodedBatch, status: number): void => {
  if (b.meta(Keys.logLevel) !== 'EXCEPTION') return;
  const extra = JSON.parse(b.meta(Keys.logExtra) ?? '{}') as Record<string, unknown>;
  const type = typeof extra.exception_type === 'string' ? extra.exception_type : 'RpcError';
  const message = typeof extra.exception_message === 'string' ? extra.exception_message : (b.meta(Keys.logMessage) ?? '');
  throw new WireRpcError(type, message, status);
};

/** A response's batches (log batches dropped, pointers resolved) and the tokens it carried. */
interface Interpreted {
  /** Every non-log batch, token sentinels included (an exchange turn's output may be one). */
  readonly outputs: DecodedBatch[];
  /** The data batches: `outputs` without zero-row token sentinels. */
  readonly data: DecodedBatch[];
  readonly cursor: string | undefined;
  readonly callToken: string | undefined;
}

/**
 * Read a response as the reference client does: a non-Arrow body is an
 * `HttpError`, an EXCEPTION batch raises, a zero-row batch carrying only
 * the cursor is a token sentinel, a pointer is fetched. With `skipHeader`,
 * a leading header stream is dropped.
 */
const interpret = async (res: HttpReply, skipHeader: boolean): Promise<Interpreted> => {
  let streams: { schema: A.Schema; batches: DecodedBatch[] }[];
  try {
    streams = readStreams(res.body);
  } catch {
    streams = [];
  }
  if (streams.length === 0) {
    const preview = new TextDecoder().decode(res.body.subarray(0, 200));
    throw new WireRpcError('HttpError', `HTTP ${res.status}: response is not a valid Arrow IPC stream (first 200 bytes: ${JSON.stringify(preview)})`, res.status);
  }
  if (skipHeader && streams.length > 1) streams = streams.slice(1);
  const outputs: DecodedBatch[] = [];
  const data: DecodedBatch[] = [];
  let cursor: string | undefined;
  let callToken: string | undefined;
  for (const b of streams.flatMap((s) => s.batches)) {
    raiseIfException(b, res.status);
    if (isLog(b)) continue;
    cursor = b.meta(Keys.streamState) ?? cursor;
    callToken = b.meta(Keys.callState) ?? callToken;
    if (b.meta(Keys.location) !== undefined) {
      for (const inner of await resolvePointer(b)) {
        raiseIfException(inner, res.status);
        if (isLog(inner)) continue;
        outputs.push(inner);
        data.push(inner);
      }
      continue;
    }
    outputs.push(b);
    if (!(b.numRows === 0 && b.meta(Keys.streamState) !== undefined)) data.push(b);
  }
  return { outputs, data, cursor, callToken };
};

// ---------------------------------------------------------------------------
// A minimal raw client: unary calls, producers, exchanges, sticky sessions
// ---------------------------------------------------------------------------

/** Sticky-session state of a session view (the reference's `_SessionView`). */
interface SessionState {
  token: string | null;
  readonly echo: Map<string, string>;
  closed: boolean;
}

/**
 * A raw HTTP client of ConformanceService on one worker: the subset of the
 * reference's `http_connect` proxy these groups use. `headers` go on every
 * request (e.g. `X-Conformance-Principal`). A request over the server's
 * `max_request_bytes` (413) is re-sent as a pointer to a server-vended
 * upload URL, as the reference client does.
 */
export class RawHttpClient {
  constructor(
    readonly worker: HttpWorker,
    private readonly headers: Readonly<Record<string, string>> = {},
    private readonly session?: SessionState,
  ) {}

  private requestHeaders(): Record<string, string> {
    const h: Record<string, string> = { ...this.headers };
    if (this.session !== undefined) {
      h['VGI-Session-Accept'] = 'true';
      if (this.session.token !== null) h['VGI-Session'] = this.session.token;
      for (const [name, value] of this.session.echo) h[name] ??= value;
    }
    return h;
  }

  private capture(res: { headers: Headers }): void {
    const s = this.session;
    if (s === undefined) return;
    const token = res.headers.get('VGI-Session');
    if (token !== null && token !== '') s.token = token;
    res.headers.forEach((value, name) => {
      if (name.toLowerCase().startsWith('vgi-echo-')) s.echo.set(name.slice('vgi-echo-'.length), value);
    });
    if ((res.headers.get('VGI-Session-Close') ?? '').trim().toLowerCase() === 'true') {
      s.token = null;
      s.echo.clear();
      s.closed = true;
    }
  }

  /** POST with this client's headers, capturing session headers from the response. */
  async post(url: string, body: Uint8Array): Promise<HttpReply> {
    const res = await postArrowUncompressed(url, body, this.requestHeaders());
    this.capture(res);
    return res;
  }

  /** POST a unary or init body; on 413 upload it to a vended URL and POST a pointer instead. */
  private async postRequest(url: string, method: string, body: Uint8Array): Promise<HttpReply> {
    const res = await this.post(url, body);
    if (res.status !== 413) return res;
    if (!(await capabilities(this.worker)).uploadUrlSupport) {
      throw new WireRpcError('RequestTooLarge', 'Request exceeds max_request_bytes and the server does not advertise upload_url_support', 413);
    }
    const [pair] = await requestUploadUrls(this.worker, 1);
    if (pair === undefined) throw new WireRpcError('ProtocolError', 'Server returned no upload URLs', 200);
    const put = await fetch(pair.uploadUrl, { method: 'PUT', body, headers: { 'Content-Type': ARROW_CONTENT_TYPE } });
    await put.arrayBuffer();
    if (put.status < 200 || put.status >= 300) throw new WireRpcError('ExternalUploadFailed', `PUT to upload URL failed: HTTP ${put.status}`, put.status);
    const original = decodeOneStream(body).batches[0]!;
    const metadata = { ...Object.fromEntries(original.metadata ?? []), [Keys.location]: pair.downloadUrl };
    const empty = fieldEntries(methodDef(method).params).map(([, t]) => t.encode([]));
    return this.post(url, concatBytes(requestBytes(original.schema, empty, 0, metadata)));
  }

  /** Call a unary method; resolves to its `result` value (null for a void method). */
  async call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const res = await this.postRequest(rpcUrl(this.worker, method), method, unaryRequestBody(method, params));
    const { data } = await interpret(res, false);
    const result = data.find((b) => b.schema.fields.some((f) => f.name === 'result'));
    return result === undefined ? null : columnValues(result, 'result')[0];
  }

  /** Open a producer stream (`POST …/init`). */
  async producer(method: string, params: Record<string, unknown> = {}): Promise<RawProducer> {
    const def = methodDef(method);
    if (def.kind !== 'producer') throw new Error(`${method} is not a producer method`);
    const res = await this.postRequest(rpcUrl(this.worker, method, '/init'), method, unaryRequestBody(method, params));
    return new RawProducer(this, method, await interpret(res, def.headerSchema !== undefined));
  }

  /** Open an exchange stream (`POST …/init`). */
  async exchange(method: string, params: Record<string, unknown> = {}): Promise<RawExchange> {
    const def = methodDef(method);
    if (def.kind !== 'exchange') throw new Error(`${method} is not an exchange method`);
    const res = await this.postRequest(rpcUrl(this.worker, method, '/init'), method, unaryRequestBody(method, params));
    return new RawExchange(this, method, def, await interpret(res, def.headerSchema !== undefined));
  }

  /** Enter a sticky-session scope (the reference's `with_session_token(token)`): every request opts in. */
  withSession(token: string | null = null): RawHttpClient {
    return new RawHttpClient(this.worker, this.headers, { token, echo: new Map(), closed: false });
  }

  /** The session token in flight (`current_session_token()`). */
  currentSessionToken(): string | null {
    return this.session?.token ?? null;
  }

  /** Headers the server asked to be echoed (`current_echo_headers()`). */
  currentEchoHeaders(): ReadonlyMap<string, string> {
    return new Map(this.session?.echo ?? []);
  }

  /** Hand the token over and suppress the exit-time DELETE (`detach()`). */
  detach(): string | null {
    const s = this.session;
    if (s === undefined) return null;
    const token = s.token;
    s.token = null;
    s.closed = true;
    return token;
  }

  /** Leave the session scope: a still-live session gets a best-effort `DELETE {prefix}/__session__`. */
  async endSession(): Promise<void> {
    const s = this.session;
    if (s === undefined || s.closed || s.token === null) return;
    try {
      const res = await fetch(`${this.worker.origin}${this.worker.prefix}/__session__`, { method: 'DELETE', headers: this.requestHeaders() });
      await res.arrayBuffer();
      this.capture(res);
    } catch {
      // best effort, as in the reference
    }
  }
}

/** `with conn.with_session_token(token) as sess: body(sess)`. */
export const inSession = async <R>(conn: RawHttpClient, token: string | null, body: (sess: RawHttpClient) => Promise<R>): Promise<R> => {
  const sess = conn.withSession(token);
  try {
    return await body(sess);
  } finally {
    await sess.endSession();
  }
};

const MULTI = 'next_with_token requires one data batch per response; the upstream worker buffered multiple (configured max_response_bytes?)';

/** A producer stream over HTTP: the init response's batches, then one `/exchange` continuation per turn. */
export class RawProducer {
  private pending: DecodedBatch[];
  private cursor: string | undefined;
  private readonly callToken: string | undefined;

  constructor(
    private readonly client: RawHttpClient,
    private readonly method: string,
    init: Interpreted,
  ) {
    this.pending = [...init.data];
    this.cursor = init.cursor;
    this.callToken = init.callToken;
  }

  private async continuation(): Promise<Interpreted> {
    const md: Record<string, string> = { [Keys.streamState]: this.cursor! };
    if (this.callToken !== undefined) md[Keys.callState] = this.callToken;
    const res = await this.client.post(rpcUrl(this.client.worker, this.method, '/exchange'), emptyBatchBody(md));
    return interpret(res, false);
  }

  /** One data batch and the token that resumes after it; `[null, null]` at the end (`next_with_token()`). */
  async nextWithToken(): Promise<[DecodedBatch | null, string | null]> {
    if (this.pending.length > 0) {
      if (this.pending.length > 1) throw new Error(MULTI);
      return [this.pending.shift()!, this.cursor ?? null];
    }
    if (this.cursor === undefined) return [null, null];
    const turn = await this.continuation();
    if (turn.data.length > 1) throw new Error(MULTI);
    this.cursor = turn.data.length === 0 ? undefined : turn.cursor;
    const [batch] = turn.data;
    return batch === undefined ? [null, null] : [batch, this.cursor ?? null];
  }

  /** Every remaining data batch, following continuation tokens (`list(session)`). */
  async all(): Promise<DecodedBatch[]> {
    const out = [...this.pending];
    this.pending = [];
    while (this.cursor !== undefined) {
      const turn = await this.continuation();
      out.push(...turn.data);
      this.cursor = turn.cursor;
    }
    return out;
  }

  /** Close the session: a no-op over HTTP (stateless), as in the reference client. */
  close(): void {}
}

/** An exchange stream over HTTP: each turn is one `/exchange` POST echoing both tokens. */
export class RawExchange {
  private cursor: string | undefined;
  private readonly callToken: string | undefined;

  constructor(
    private readonly client: RawHttpClient,
    private readonly method: string,
    private readonly def: Extract<MethodDef, { kind: 'exchange' }>,
    init: Interpreted,
  ) {
    this.cursor = init.cursor;
    this.callToken = init.callToken;
  }

  /** Send one input batch (columns by input field name) and return the output batch. */
  async exchange(columns: Record<string, readonly unknown[]>): Promise<DecodedBatch> {
    if (this.cursor === undefined) throw new WireRpcError('ProtocolError', 'Stream has finished — no state token available', 0);
    const entries = fieldEntries(this.def.input);
    const rows = entries.length === 0 ? 0 : (columns[entries[0]![0]]?.length ?? 0);
    const data = entries.map(([k, t]) => t.encode(columns[k] ?? []));
    const md: Record<string, string> = { [Keys.streamState]: this.cursor };
    if (this.callToken !== undefined) md[Keys.callState] = this.callToken;
    const res = await this.client.post(rpcUrl(this.client.worker, this.method, '/exchange'), concatBytes(requestBytes(this.def.inputSchema, data, rows, md)));
    const turn = await interpret(res, false);
    this.cursor = turn.cursor ?? this.cursor;
    const [out] = turn.outputs;
    if (out === undefined) throw new WireRpcError('ProtocolError', 'exchange response carried no output batch', res.status);
    return out;
  }

  /** Close the session: a no-op over HTTP (stateless), as in the reference client. */
  close(): void {}
}

// ---------------------------------------------------------------------------
// Fake object storage (port of vgi_rpc/conformance/fake_storage.py, the parts these groups use)
// ---------------------------------------------------------------------------

/** A running fake storage: `POST /alloc`, `PUT /upload/{id}`, `GET|HEAD /download/{id}` (and `/blob/{id}`), `GET /_stats`. */
export interface FakeStorage {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `GET /_stats` → `object_count`, over HTTP as the reference reads it. */
  objectCount(): Promise<number>;
  close(): Promise<void>;
}

const startFakeStorage = async (): Promise<FakeStorage> => {
  const blobs = new Map<string, { data: Buffer; encoding: string | undefined }>();
  let base = '';
  const send = (res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (method === 'POST' && path === '/alloc') {
        const id = randomUUID().replaceAll('-', '');
        const body = JSON.stringify({ object_url: `${base}/blob/${id}`, upload_url: `${base}/upload/${id}`, download_url: `${base}/download/${id}` });
        return send(res, 200, body, { 'Content-Type': 'application/json' });
      }
      if (method === 'GET' && path === '/_stats') return send(res, 200, JSON.stringify({ object_count: blobs.size }), { 'Content-Type': 'application/json' });
      const m = /^\/(blob|upload|download)\/([^/]+)$/.exec(path);
      if (m === null) return send(res, 404, '');
      const [, kind, id] = m as unknown as [string, string, string];
      if (kind === 'upload' && method !== 'PUT') return send(res, 403, 'upload URL only permits PUT');
      if (kind === 'download' && method !== 'GET' && method !== 'HEAD') return send(res, 403, 'download URL only permits GET or HEAD');
      if (method === 'PUT') {
        const enc = req.headers['content-encoding'];
        blobs.set(id, { data: Buffer.concat(chunks), encoding: enc === undefined || enc === '' ? undefined : enc });
        res.writeHead(204);
        return res.end();
      }
      const blob = blobs.get(id);
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, '');
      if (blob === undefined) return send(res, 404, '');
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
      if (blob.encoding !== undefined) headers['Content-Encoding'] = blob.encoding;
      const total = blob.data.length;
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      if (method === 'GET' && range !== null) {
        const start = range[1] === '' ? 0 : Number(range[1]);
        const end = range[2] === '' ? total - 1 : Number(range[2]);
        if (start > end || end >= total) return send(res, 416, '', { 'Content-Range': `bytes */${total}` });
        const chunk = blob.data.subarray(start, end + 1);
        res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${total}`, 'Content-Length': String(chunk.length) });
        return res.end(chunk);
      }
      res.writeHead(200, { ...headers, 'Content-Length': String(total) });
      return res.end(method === 'HEAD' ? undefined : blob.data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    objectCount: async () => ((await (await fetch(`${base}/_stats`)).json()) as { object_count: number }).object_count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * The reference's `conformance_fake_storage` fixture for this file: call at
 * collection time (before `httpGroup`); the returned getter starts the
 * storage on first use, and it is stopped after the file's last test.
 */
export const useFakeStorage = (): (() => Promise<FakeStorage>) => {
  let started: Promise<FakeStorage> | undefined;
  afterAll(async () => {
    const s = started;
    started = undefined;
    if (s !== undefined) await (await s).close();
  });
  return () => (started ??= startFakeStorage());
};
