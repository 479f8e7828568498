/**
 * Shared helpers of the ported HTTP-only conformance groups
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550 and the modules it
 * imports): the reference fixtures as `HttpFixtureSpec`s, hand-built
 * request bodies, raw requests with `fetch`, and readers for Arrow response
 * bodies.
 *
 * Worker flags follow the reference's own harness (tests/conftest.py) and
 * the peer's TypeScript harness (protocol-delta §6.4). One is invented,
 * because the reference runs a separate script for it: `--auth-reject-all`
 * (see AUTH_HTTP).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import zstd from 'zstd-napi';
import type * as A from 'apache-arrow';
import type { AnyService } from '../../../src/index.js';
import { encodeRequest } from '../../../src/client/connection.js';
import { emptySchema, type MethodDef } from '../../../src/service/method.js';
import { StreamEncoder, concatBytes } from '../../../src/wire/batch-encoder.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { type DecodedBatch, StreamReader } from '../../../src/wire/stream-reader.js';
import { CONFORMANCE_PROTOCOL, ConformanceService } from '../../../examples/conformance/service.js';
import type { HttpFixtureSpec } from '../http-harness.js';

// ---------------------------------------------------------------- fixtures

/** The origin the CORS worker allows (the reference's `_CORS_ORIGIN`). */
export const CORS_ORIGIN = 'https://conformance.example';

/**
 * `conformance_http_auth_port`, also standing in for its alias
 * `conformance_http_auth_reason_port`: every RPC route answers 401 while
 * `/health` stays open. The reference runs a separate script
 * (tests/serve_conformance_http_auth.py) whose authenticate callback
 * rejects every request. The tests send no credential; a request naming one of
 * missing_credential / invalid_credential / expired_credential /
 * insufficient_scope in `X-Conformance-Auth-Reason` is refused with that
 * reason (detail = the reason code), anything else is refused unclassified
 * (reason `unauthorized`). The flag name is invented (another port's
 * harness spells it the same way).
 */
export const AUTH_HTTP: HttpFixtureSpec = { name: 'conformance_http_auth_port', flags: ['--auth-reject-all'] };

/** `conformance_http_no_compression_port`: response compression off (`--no-compression` in the reference's worker). */
export const NO_COMPRESSION_HTTP: HttpFixtureSpec = { name: 'conformance_http_no_compression_port', flags: ['--response-compression', 'off'] };

/** `conformance_http_access_log`: the plain worker writing JSONL access records. */
export const ACCESS_LOG_HTTP: HttpFixtureSpec = { name: 'conformance_http_access_log', flags: [], accessLog: true, needs: 'accessLog' };

/**
 * `conformance_http_cors_port`: CORS for CORS_ORIGIN, with storage on (the
 * fake storage at `storageUrl`) so the worker also advertises its
 * conditional capability headers (upload URLs, size caps). The flags are the
 * reference's and the peer harness's.
 */
export const corsHttp = (storageUrl: string): HttpFixtureSpec => ({
  name: 'conformance_http_cors_port',
  flags: ['--fake-storage', storageUrl, '--cors-origin', CORS_ORIGIN],
  needs: 'storage',
});

/** `conformance_http_small_request_cap_port`: the 4 KiB request cap, which applies to both encoded and decoded bytes. */
export const SMALL_REQUEST_CAP_HTTP: HttpFixtureSpec = { name: 'conformance_http_small_request_cap_port', flags: ['--max-request-bytes', '4096'] };

/** The proof harness's fixed key id (`CONFORMANCE_KID`). */
export const PROOF_KID = 'conformance-proxy';
/** The proof harness's fixed origin id (`CONFORMANCE_ORIGIN`). */
export const PROOF_ORIGIN = 'conformance-origin';
/** The proof harness's fixed secret (`CONFORMANCE_SECRET_HEX`). */
export const PROOF_SECRET_HEX = '11'.repeat(32);
/** The rotation key id of `ProofWorkerConfig.with_second_key()`. */
export const PROOF_SECOND_KID = 'conformance-proxy-v2';
/** The rotation key's secret. */
export const PROOF_SECOND_SECRET_HEX = '22'.repeat(32);

/** The reference's `ProofWorkerConfig`. */
export interface ProofConfig {
  readonly mode: 'off' | 'allow' | 'require';
  readonly originId: string;
  /** `kid:hex` pairs, comma-separated. */
  readonly secrets: string;
  readonly skewSeconds: number;
  readonly replayCache: boolean;
}

/** `ProofWorkerConfig()`: require mode, one key, 30 s skew, replay cache on. */
export const PROOF_DEFAULT: ProofConfig = {
  mode: 'require',
  originId: PROOF_ORIGIN,
  secrets: `${PROOF_KID}:${PROOF_SECRET_HEX}`,
  skewSeconds: 30,
  replayCache: true,
};

/** `ProofWorkerConfig.with_second_key()`: both keys verify, as during a rotation. */
export const withSecondKey = (c: ProofConfig): ProofConfig => ({ ...c, secrets: `${c.secrets},${PROOF_SECOND_KID}:${PROOF_SECOND_SECRET_HEX}` });

/**
 * What the reference's `proof_worker_factory(config)` starts: the proof flags
 * of tests/serve_conformance_http_proof.py, mounted at `/vgi`. The harness
 * shares one worker per spec within a test file; the reference starts a
 * fresh one per `with` block.
 */
export const proofSpec = (c: ProofConfig): HttpFixtureSpec => ({
  name: `proof_worker_factory(${c.mode}${c.secrets.includes(',') ? ', two keys' : ''})`,
  flags: [
    '--proof-mode', c.mode,
    '--proof-origin-id', c.originId,
    '--proof-secrets', c.secrets,
    '--proof-skew', String(c.skewSeconds),
    ...(c.replayCache ? [] : ['--proof-no-replay-cache']),
    '--prefix', '/vgi',
  ],
  prefix: '/vgi',
  needs: 'proof',
});

/**
 * `mint_proof(secret, kid, origin_id, now=, nonce=)`: the independent minter,
 * `v1.<kid>.<ts>.<nonce>.<mac>` with an HMAC-SHA256 over the NUL-joined
 * `vgi.proxy.proof.v1`, kid, ts, nonce, origin_id (base64url, unpadded).
 */
export const mintProof = (secretHex: string, kid: string, originId: string, opts: { readonly now?: number; readonly nonce?: string } = {}): string => {
  const ts = String(Math.floor(opts.now ?? Date.now() / 1000));
  const nonce = opts.nonce ?? randomBytes(16).toString('base64url');
  const mac = createHmac('sha256', Buffer.from(secretHex, 'hex')).update(['vgi.proxy.proof.v1', kid, ts, nonce, originId].join('\0')).digest('base64url');
  return ['v1', kid, ts, nonce, mac].join('.');
};

// ---------------------------------------------------------------- requests

/** The Arrow IPC stream media type. */
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** A response with its body read to the end. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** Send one request and read the whole body (fetch undoes gzip/deflate/br `Content-Encoding` itself). */
export const request = async (
  url: string,
  init: { readonly method?: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: Uint8Array; readonly timeoutMs?: number } = {},
): Promise<HttpReply> => {
  const resp = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    // `timeoutMs: Infinity` waits as long as the test does.
    ...(init.timeoutMs === Number.POSITIVE_INFINITY ? {} : { signal: AbortSignal.timeout(init.timeoutMs ?? 5_000) }),
  });
  return { status: resp.status, headers: resp.headers, body: new Uint8Array(await resp.arrayBuffer()) };
};

/** POST an Arrow body (`Content-Type` is set here; `headers` must not repeat it). */
export const postArrow = (url: string, body: Uint8Array, headers: Readonly<Record<string, string>> = {}, timeoutMs?: number): Promise<HttpReply> =>
  request(url, { method: 'POST', headers: { 'Content-Type': ARROW_CONTENT_TYPE, ...headers }, body, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

/** `{prefix}/ConformanceService/{method}{suffix}`. */
export const rpcPath = (prefix: string, method: string, suffix = ''): string => `${prefix}/${CONFORMANCE_PROTOCOL}/${method}${suffix}`;

/** A complete request stream for `service.method` (routing key and protocol version stamped, as a conformant client sends). */
export const requestBody = (service: AnyService, method: string, params: Record<string, unknown> = {}): Uint8Array => {
  const def = service.methods[method] as MethodDef | undefined;
  if (def === undefined) throw new Error(`${service.name} has no method ${method}`);
  const out: Uint8Array[] = [];
  encodeRequest(out, { protocol: service.name, protocolVersion: service.version }, method, def, params);
  return concatBytes(out);
};

/** The reference's `_unary_request_body(method, **params)` for ConformanceService (also the body of a stream `/init`). */
export const unaryRequestBody = (method: string, params: Record<string, unknown> = {}): Uint8Array => requestBody(ConformanceService, method, params);

/** A stream continuation (or, with `cancel`, a cancel): one zero-row batch on the empty schema carrying the tokens. */
export const continuationBody = (cursor: string, callToken: string | undefined, cancel = false): Uint8Array => {
  const md = new Map<string, string>([[Keys.streamState, cursor]]);
  if (callToken !== undefined) md.set(Keys.callState, callToken);
  if (cancel) md.set(Keys.cancel, '1');
  const enc = new StreamEncoder(emptySchema());
  const out: Uint8Array[] = [];
  enc.writeSchema(out);
  enc.writeColumns(out, 0, [], md);
  enc.writeEos(out);
  return concatBytes(out);
};

/** Compress a request body as `Content-Encoding: codec` would. */
export const compressBody = (codec: 'zstd' | 'gzip', body: Uint8Array): Uint8Array => (codec === 'zstd' ? zstd.compress(body) : gzipSync(body));

// ---------------------------------------------------------------- responses

/** One IPC stream of a response body. */
export interface IpcStream {
  readonly schema: A.Schema;
  readonly batches: DecodedBatch[];
}

/** Every IPC stream of a body, in order (a stream response may be a header stream then the output stream). */
export const readStreams = (body: Uint8Array): IpcStream[] => {
  const reader = new StreamReader();
  reader.push(body);
  reader.end();
  const streams: IpcStream[] = [];
  let current: IpcStream | undefined;
  for (;;) {
    const f = reader.read();
    if (f === null) return streams;
    if (f === undefined) throw new Error('truncated response body');
    if (f.kind === 'schema') streams.push((current = { schema: f.schema, batches: [] }));
    else if (f.kind === 'batch') current!.batches.push(f.batch);
    else if (f.kind === 'badBatch') throw f.error;
    else current = undefined;
  }
};

/** Every batch of every stream of a body. */
export const allBatches = (body: Uint8Array): DecodedBatch[] => readStreams(body).flatMap((s) => s.batches);

/** The first `result` value of a unary response (`_echoed_value` / `_result_value`). */
export const resultValue = (body: Uint8Array): unknown => {
  for (const b of allBatches(body)) {
    const i = b.schema.fields.findIndex((f) => f.name === 'result');
    if (i >= 0 && b.numRows > 0 && b.meta(Keys.logLevel) === undefined) return b.toRecordBatch().getChildAt(i)?.get(0);
  }
  throw new Error('response carried no result batch');
};

/** The zero-row batch carrying the cursor token (`_sentinel`), if any. */
export const tokenSentinel = (batches: readonly DecodedBatch[]): DecodedBatch | undefined =>
  batches.find((b) => b.numRows === 0 && b.meta(Keys.streamState) !== undefined);

/** The codec a response claims, from either stamping header (`_response_codec`). */
export const responseCodec = (headers: Headers): string | undefined => {
  const ce = headers.get('content-encoding') || headers.get('x-vgi-content-encoding');
  return ce ? ce.trim().toLowerCase() : undefined;
};

/** A comma-separated header as a trimmed, lower-cased list (empty items dropped). */
export const headerList = (raw: string): string[] => raw.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');

/** `_advertised_encodings`: `VGI-Supported-Encodings` from `OPTIONS /health`; undefined when absent, `[]` when present but empty. */
export const advertisedEncodings = async (origin: string): Promise<string[] | undefined> => {
  const resp = await request(`${origin}/health`, { method: 'OPTIONS' });
  const raw = resp.headers.get('vgi-supported-encodings');
  return raw === null ? undefined : headerList(raw);
};

/** The body as text. */
export const textOf = (r: HttpReply): string => new TextDecoder().decode(r.body);

/** The body as a JSON object. */
export const jsonOf = (r: HttpReply): Record<string, unknown> => JSON.parse(textOf(r)) as Record<string, unknown>;

/** The first 200 characters of a body, for failure messages. */
export const snippet = (r: HttpReply): string => JSON.stringify(textOf(r).slice(0, 200));
