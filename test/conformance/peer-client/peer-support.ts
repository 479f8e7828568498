/**
 * Shared plumbing of the peer-client cross-check: the reference conformance
 * groups re-run with the npm peer's client (`@query-farm/vgi-rpc` 0.25.4)
 * against OUR conformance worker (`dist/examples/conformance/worker.js
 * --generation 89`, the peer-era ConformanceService the peer's describe
 * bootstrap reads), over two transports:
 *
 * - `pipe`: the worker on stdio, the peer's `pipeConnect` on its pipes;
 * - `http`: the worker with `--http --workers 2` (it prints `PORT:<n>`), the
 *   peer's `httpConnect` on it. Every request the peer makes goes through a
 *   recording `fetch` (`PeerWorker.requests`), so a test can check what went
 *   over the wire.
 *
 * Build first: `npx tsc -p .`.
 *
 * `peerGroups(body)` runs a file's groups once per transport, each block
 * with its own worker (beforeAll/afterAll scoped to the block). The peer
 * client rejects overlapping operations, so every helper here awaits its
 * operation and every stream helper ends its session in `finally`.
 *
 * Value representation of the peer (see /work/notes/peer-api.md): int64 comes
 * back as a number when safe (else bigint), lists as arrow-js Vectors, maps as
 * MapRows (values stay bigint), records ("dataclasses") as binary one-row IPC
 * streams encoded/decoded here with `@query-farm/apache-arrow`, errors as
 * RpcError with errorType/errorMessage/remoteTraceback (no errorKind).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as A from '@query-farm/apache-arrow';
import {
  type HttpStreamSession,
  type LogMessage,
  type PipeStreamSession,
  type RpcClient,
  RpcError,
  httpConnect,
  pipeConnect,
} from '@query-farm/vgi-rpc';
import { staleOutputs } from '../../support/stale-build.js';
import { afterAll, beforeAll, describe, expect } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const WORKER = path.join(ROOT, 'dist/examples/conformance/worker.js');

/** The protocol hash of the 89-method ConformanceService (test/conformance/describe.test.ts). */
export const HASH_89 = '4b0269208a5a8fdeb7d8fe0f62a352713a3bfc071d7de99e5e12408c5f0b9402';

/** How the peer client reaches the worker. */
export type PeerTransport = 'pipe' | 'http';

/** Every transport the peer-client groups run over, in order. */
export const PEER_TRANSPORTS: readonly PeerTransport[] = ['pipe', 'http'];

/** The peer's client surface both transports share. */
export type PeerClient = RpcClient;
export type Row = Record<string, any>;

/** One request the peer's HTTP client made, and the response it got. */
export interface PeerRequest {
  readonly method: string;
  /** The path, without origin or query. */
  readonly path: string;
  readonly requestHeaders: Headers;
  readonly status: number;
  readonly responseHeaders: Headers;
}

/** One spawned conformance worker with a peer client on it. */
export interface PeerWorker {
  readonly transport: PeerTransport;
  readonly child: ChildProcess;
  readonly client: PeerClient;
  /** Every log the peer's onLog received, in order (tests clear it with `logs.length = 0`). */
  readonly logs: LogMessage[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
  /** HTTP: every request the peer made so far, in order (tests may clear it). Always empty over pipes. */
  readonly requests: PeerRequest[];
}

/** The drain notice our server writes to stderr on SIGTERM (runtime/signals.ts): the only stderr an HTTP worker may produce here. */
const DRAIN_NOTICE = 'vgi-rpc: SIGTERM received, draining (send it again to exit at once)';

const spawnWorker = (args: readonly string[]) => {
  const child = spawn(process.execPath, [WORKER, '--generation', '89', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  // 'close', not 'exit': it fires once stdio has closed, so `stderr` is complete by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdin!.on('error', () => undefined);
  return { child, exited, stderr };
};

const startPipeWorker = (): PeerWorker => {
  const { child, exited, stderr } = spawnWorker([]);
  const logs: LogMessage[] = [];
  const client = pipeConnect(
    child.stdout as unknown as Parameters<typeof pipeConnect>[0], // a Node Readable works (peer-api.md)
    { write: (b: Uint8Array) => child.stdin!.write(b), end: () => child.stdin!.end() },
    { protocol: 'ConformanceService', onLog: (m: LogMessage) => logs.push(m) },
  );
  return { transport: 'pipe', child, client, logs, stderr, exited, requests: [] };
};

/** A `fetch` that records every request and its response's status and headers into `into`. */
export const recordingFetch = (into: PeerRequest[]): typeof fetch =>
  (async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const response = await fetch(input, init);
    into.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      requestHeaders: new Headers(init?.headers),
      status: response.status,
      responseHeaders: response.headers,
    });
    return response;
  }) as typeof fetch;

/** Start the worker with `--http` plus `flags` and wait for its `PORT:<n>` line; returns its origin. */
export const startHttpWorker = async (flags: readonly string[]): Promise<{ origin: string; child: ChildProcess; exited: Promise<number | null>; stderr: string[] }> => {
  const { child, exited, stderr } = spawnWorker(['--http', ...flags]);
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(null));
  });
  const m = line === null ? null : /^PORT:(\d+)$/.exec(line);
  if (m === null) {
    child.kill('SIGKILL');
    throw new Error(`the HTTP conformance worker did not print PORT:<n> (got ${JSON.stringify(line)}): ${stderr.join('')}`);
  }
  return { origin: `http://127.0.0.1:${m[1]}`, child, exited, stderr };
};

const startHttpPeerWorker = async (): Promise<PeerWorker> => {
  const { origin, child, exited, stderr } = await startHttpWorker(['--workers', '2']);
  const logs: LogMessage[] = [];
  const requests: PeerRequest[] = [];
  const client = httpConnect(origin, { protocol: 'ConformanceService', onLog: (m: LogMessage) => logs.push(m), fetch: recordingFetch(requests) });
  return { transport: 'http', child, client, logs, stderr, exited, requests };
};

/** Wait up to `ms` for the worker to exit; SIGKILL it (and say so) if it does not. */
const awaitExit = async (w: PeerWorker, ms: number, what: string): Promise<number | null> => {
  const code = await Promise.race([w.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
  if (code !== 'timeout') return code;
  w.child.kill('SIGKILL');
  await w.exited;
  throw new Error(`the conformance worker did not exit within ${ms / 1000} s of ${what}; stderr: ${w.stderr.join('')}`);
};

/**
 * Spawn one worker for the current block, bootstrap the peer client
 * (describe must report the peer-era ConformanceService), and stop it after
 * the block. Over pipes the peer client's close() ends the worker; over
 * HTTP (stateless: the peer's close() is a no-op) SIGTERM does. Either way
 * it must exit 0, and write nothing to stderr but the drain notice.
 */
export const usePeerWorker = (transport: PeerTransport = 'pipe'): (() => PeerWorker) => {
  let w: PeerWorker | undefined;
  beforeAll(async () => {
    const stale = staleOutputs('examples/conformance/worker.ts');
    if (stale.length > 0) throw new Error(`dist/ is missing or older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}: build first with \`npx tsc -p .\``);
    w = transport === 'pipe' ? startPipeWorker() : await startHttpPeerWorker();
    const d = await w.client.describe();
    expect([d.protocolName, d.protocolVersion, d.protocolHash, d.methods.length]).toEqual(['ConformanceService', '2.0.0', HASH_89, 89]);
    if (transport === 'http') {
      // The bootstrap went over HTTP: the capability probe, then describe (the protocol is named, so no list_protocols).
      expect(w.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['HEAD /health 200', 'POST /vgi_rpc.Reflection.v1/describe 200']);
      expect(w.requests[0]!.responseHeaders.get('VGI-Accept-Max-Response-Bytes-Support')).toBe('true');
    }
  });
  afterAll(async () => {
    if (w === undefined) return;
    w.client.close();
    if (transport === 'http') w.child.kill('SIGTERM');
    const code = await awaitExit(w, transport === 'pipe' ? 3000 : 10_000, transport === 'pipe' ? 'the peer client closing' : 'SIGTERM');
    if (code !== 0) throw new Error(`the conformance worker exited ${code}; stderr: ${w.stderr.join('')}`);
    // Nothing the peer did may have produced diagnostics (over pipes, stdout carries only Arrow IPC).
    const diagnostics = w.stderr.join('').split('\n').filter((l) => l !== '' && !(transport === 'http' && l === DRAIN_NOTICE));
    if (diagnostics.length > 0) throw new Error(`the conformance worker wrote to stderr: ${diagnostics.join('\n')}`);
  });
  return () => {
    if (w === undefined) throw new Error('the peer worker is not running');
    return w;
  };
};

/**
 * Run a file's groups once per transport (`PEER_TRANSPORTS`), each inside a
 * `describe('over <transport>')` block with its own worker.
 */
export const peerGroups = (body: (worker: () => PeerWorker, transport: PeerTransport) => void): void => {
  for (const transport of PEER_TRANSPORTS) {
    describe(`over ${transport}`, () => {
      body(usePeerWorker(transport), transport);
    });
  }
};

// ---------------------------------------------------------------- calls and errors

/** `proxy.method(**params)` for a method with a result: the `result` field of the peer's row. */
export const result = async (client: PeerClient, method: string, params?: Row): Promise<any> => {
  const row = await client.call(method, params);
  expect(row, `${method} returned no row`).not.toBeNull();
  expect(Object.keys(row!)).toEqual(['result']);
  return row!.result;
};

/** `pytest.raises(RpcError)`: `p` must reject with the peer's RpcError, which is returned. */
export const peerFailure = async (p: Promise<unknown> | (() => Promise<unknown>)): Promise<RpcError> => {
  const promise = typeof p === 'function' ? p() : p;
  const e = await promise.then(
    (v) => new Error(`expected an RpcError, the call succeeded with ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`),
    (err: unknown) => err,
  );
  if (!(e instanceof RpcError)) throw e instanceof Error ? e : new Error(String(e));
  return e;
};

/** `pytest.raises(RpcError, match=re)`: the reference searches `str(RpcError)`, "Type: message" (the peer's `message`). */
export const expectMatch = (e: RpcError, re: RegExp): void => {
  expect(e.message).toBe(`${e.errorType}: ${e.errorMessage}`);
  expect(e.message).toMatch(re);
};

/** `pytest.approx(expected)` with its defaults (rel 1e-6, abs 1e-12). */
export const approx = (actual: unknown, expected: number): void => {
  expect(typeof actual, `expected a number ≈ ${expected}, got ${String(actual)}`).toBe('number');
  const tol = Math.max(1e-6 * Math.abs(expected), 1e-12);
  expect(Math.abs((actual as number) - expected), `${String(actual)} ≈ ${expected}`).toBeLessThanOrEqual(tol);
};

/** Element-wise `== [pytest.approx(...), ...]`. */
export const approxList = (actual: readonly unknown[], expected: readonly number[]): void => {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((x, i) => approx(actual[i], x));
};

/** Bytes as a plain array (a received binary may be a view or a Buffer). */
export const bytesOf = (v: unknown): number[] => {
  expect(v).toBeInstanceOf(Uint8Array);
  return Array.from(v as Uint8Array);
};

/** An arrow-js Vector (or any iterable) as an array, recursively for nested lists. */
export const listOf = (v: unknown): unknown[] => {
  expect(v, 'expected a list').not.toBeNull();
  return Array.from(v as Iterable<unknown>, (x) => (x !== null && typeof x === 'object' && !(x instanceof Uint8Array) && Symbol.iterator in x && !isMapRow(x) ? listOf(x) : x));
};

const isMapRow = (v: object): boolean => (v as { constructor?: { name?: string } }).constructor?.name === 'MapRow';

/** A MapRow (or any iterable of pairs) as its entry list, in wire order. */
export const entriesOf = (v: unknown): [unknown, unknown][] => {
  expect(v, 'expected a map').not.toBeNull();
  return Array.from(v as Iterable<[unknown, unknown]>, ([k, x]) => [k, x]);
};

// ---------------------------------------------------------------- streams

/** A stream session of either transport (the members both share). */
export type Session = PipeStreamSession | HttpStreamSession;

/** `proxy.method(**params)` for a stream method: the peer's pipe or HTTP session. */
export const openStream = async (client: PeerClient, method: string, params?: Row): Promise<Session> =>
  (await client.stream(method, params)) as unknown as Session;

/**
 * The reference's `with proxy.method() as session:`: run `body`, then close
 * the session (a no-op once it ended; over pipes the peer drains in the
 * background and the next operation waits for that; over HTTP close() is a
 * no-op).
 */
export const using = async <R>(open: Promise<Session>, body: (s: Session) => Promise<R>): Promise<R> => {
  const s = await open;
  try {
    return await body(s);
  } finally {
    s.close();
  }
};

/** `list(session)`: every batch's rows, to the end of the stream. */
export const drain = async (s: Session): Promise<Row[][]> => {
  const batches: Row[][] = [];
  for await (const rows of s) batches.push(rows);
  return batches;
};

/** An exchange input batch `{value: float64?}` built explicitly (rows with plain numbers infer the same schema). */
export const valueBatch = (values: readonly number[]): A.RecordBatch => {
  const schema = new A.Schema([new A.Field('value', new A.Float64(), true)]);
  const column = A.makeData({ type: new A.Float64(), length: values.length, nullCount: 0, data: Float64Array.from(values) });
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: values.length, nullCount: 0, children: [column] }));
};

/** A zero-column, zero-row batch (the reference's `AnnotatedBatch.from_pydict({})` input). */
export const emptyBatch = (): A.RecordBatch =>
  new A.RecordBatch(new A.Schema([]), A.makeData({ type: new A.Struct([]), length: 0, nullCount: 0, children: [] }));

// ---------------------------------------------------------------- records as nested IPC (@query-farm/apache-arrow)

/** A field; non-nullable unless said otherwise (the reference's dataclass fields). */
export const field = (name: string, type: A.DataType, nullable = false): A.Field => new A.Field(name, type, nullable);

/** `list<item?: T>` (list items are nullable in the reference's mapping). */
export const listType = (item: A.DataType): A.List => new A.List(new A.Field('item', item, true));

/** `map<K, V?>` with pyarrow's entry names. */
export const mapType = (key: A.DataType, value: A.DataType): A.Map_ =>
  new A.Map_(new A.Field('entries', new A.Struct([new A.Field('key', key, false), new A.Field('value', value, true)]), false));

/** The Status enum: dictionary<int16, utf8> (a fresh instance, so every field gets its own dictionary id). */
export const statusType = (): A.Dictionary => new A.Dictionary(new A.Utf8(), new A.Int16());

/** Point(x: float64, y: float64) fields. */
export const pointFields = (): A.Field[] => [field('x', new A.Float64()), field('y', new A.Float64())];

/** Point as a nested struct. */
export const pointStruct = (): A.Struct => new A.Struct(pointFields());

/** Encode one record as a complete one-row IPC stream (schema, dictionaries, the row, EOS). */
export const recordIpc = (fields: readonly A.Field[], row: Row): Uint8Array => {
  const schema = new A.Schema([...fields]);
  const children = fields.map((f) => {
    const v = A.vectorFromArray([row[f.name]] as never[], f.type as never);
    expect(v.data, `field ${f.name} built into one chunk`).toHaveLength(1);
    return v.data[0]!;
  });
  const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 1, nullCount: 0, children }));
  return A.tableToIPC(new A.Table([batch]), 'stream');
};

/** A decoded nested record: its schema (as `name:Type:nullable`) and the value of each field in row 0. */
export interface DecodedRecord {
  readonly fields: string[];
  readonly names: string[];
  get(name: string): any;
}

/** Decode a binary one-row IPC stream returned by the server. */
export const decodeRecord = (bytes: unknown): DecodedRecord => {
  expect(bytes).toBeInstanceOf(Uint8Array);
  const t = A.tableFromIPC(bytes as Uint8Array);
  expect(t.numRows, 'a nested record IPC stream holds one row').toBe(1);
  return {
    fields: t.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`),
    names: t.schema.fields.map((f) => f.name),
    get: (name: string) => {
      const col = t.getChild(name);
      expect(col, `the nested record has no field '${name}'`).not.toBeNull();
      return col!.get(0);
    },
  };
};

/** A nested struct value (a StructRow) as `{x, y}` numbers. */
export const pointOf = (v: unknown): { x: number; y: number } => {
  expect(v, 'expected a Point').not.toBeNull();
  const p = v as { x: number; y: number };
  return { x: p.x, y: p.y };
};
