/**
 * Load generator for the HTTP stream benchmarks, run as a child process of
 * bench/http-rpc.ts so the process that measures does no client work. It
 * drives one vgi-rpc HTTP server (ours or the peer's: both speak the same
 * wire) with S concurrent streams of protocol `Bench`, each on a keep-alive
 * connection of its own, through one of two clients:
 *
 *   --client raw    (default) the wire without our client's machinery: each
 *                   stream's requests are encoded by our wire code as our
 *                   client encodes them (the /init request, then a tick or
 *                   an input batch carrying the echoed cursor and call
 *                   tokens; a request is encoded again only when the
 *                   tokens it echoes change, as the same input with the
 *                   same tokens makes the same bytes), sent on
 *                   bench/raw-http.ts connections, and each
 *                   answer is decoded and checked with the client's own turn
 *                   reader (src/client/http/http-response.ts); zstd and gzip
 *                   answers are decoded natively (zstd-napi, node:zlib);
 *   --client fetch  our HTTP client (`httpConnect`, Node's fetch) through the
 *                   typed client: what an application gets, at about a
 *                   millisecond of client CPU per request on this machine.
 *
 * The workloads:
 *
 *   --workload producer  each stream calls produce(n_batches = 10^9, rows R):
 *                        one /init, then one /exchange per batch echoing the
 *                        tokens; rows and payload bytes (R x 16: an int64 and
 *                        a float64 column) are counted as batches arrive, and
 *                        every batch must have R rows;
 *   --workload exchange  each stream opens double(factor 2) and sends turns
 *                        of R rows one after another; every output is checked
 *                        (R rows, x doubled); turns are counted.
 *
 * Both clients advertise `zstd, gzip`; whether responses are compressed is
 * the server's choice (run it with --no-compression for plain bodies).
 *
 *   node dist/bench/http-load.js --url URL --workload producer|exchange [--streams S] [--rows R] [--client raw|fetch]
 *
 * Prints `{"ready":true}` once every stream has its first answer. Each
 * `mark` line on stdin is answered with
 * `{"units":N,"bytes":B,"errors":E,"t_ms":T,"cpu_us":C}` (batches or turns
 * so far, payload bytes, its own clock, its own CPU time) so the parent can
 * measure one window; `stop` (or stdin EOF) ends the streams and exits.
 */
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import { Client, httpConnect } from '../src/index.js';
import { encodeRequest } from '../src/client/connection.js';
import { BodyFrames, type Turn, readTurn } from '../src/client/http/http-response.js';
import { StreamEncoder } from '../src/wire/batch-encoder.js';
import { Keys } from '../src/wire/metadata-keys.js';
import { emptySchema } from '../src/service/method.js';
import { emissionColumns } from '../src/service/stream-output.js';
import { decompressBody } from '../transports/http/body-codecs.js';
import { Bench } from '../examples/bench/bench-service.js';
import { type RawAnswer, RawHttpConnection } from './raw-http.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const url = flag('url');
const workload = flag('workload');
if (url === undefined || (workload !== 'producer' && workload !== 'exchange')) {
  process.stderr.write('usage: http-load --url URL --workload producer|exchange [--streams S] [--rows R]\n');
  process.exit(64);
}
const streams = Number(flag('streams', workload === 'producer' ? '4' : '8'));
const rows = Number(flag('rows', workload === 'producer' ? '100000' : '100'));
const clientKind = flag('client', 'raw');
if (clientKind !== 'raw' && clientKind !== 'fetch') {
  process.stderr.write(`http-load: unknown --client ${clientKind}\n`);
  process.exit(64);
}

let units = 0;
let bytes = 0;
let errors = 0;
let lastError = '';
let running = true;

const failed = (e: unknown): void => {
  errors++;
  lastError = e instanceof Error ? e.message : String(e);
  if (errors > 20) running = false;
};

const conn = clientKind === 'fetch' ? await httpConnect(url, { retry: false }) : undefined;
const bench = conn === undefined ? undefined! : Client.promises(Bench, conn);

/** One producer stream through our typed client, reopened if the server ends it; `first` resolves with its first batch. */
const producerLoop = async (first: () => void): Promise<void> => {
  while (running) {
    try {
      const stream = await bench.produce({ n_batches: 1_000_000_000n, rows: BigInt(rows) });
      for await (const b of stream) {
        if (b.numRows !== rows) throw new Error(`a batch had ${b.numRows} rows, expected ${rows}`);
        units++;
        bytes += rows * 16;
        first();
        if (!running) break;
      }
    } catch (e) {
      failed(e);
    }
  }
};

/** One exchange stream through our typed client: turns of `rows` rows, each answer checked. */
const exchangeLoop = async (first: () => void): Promise<void> => {
  const x = new Float64Array(rows).map((_, i) => i + 0.25);
  while (running) {
    try {
      const ex = await bench.double({ factor: 2 });
      try {
        while (running) {
          const out = await ex.exchange({ _tag: 'columns', columns: { x }, metadata: undefined });
          const got = out.column('x').values as Float64Array;
          if (out.numRows !== rows || got[1] !== x[1]! * 2) throw new Error('the exchange answered the wrong batch');
          units++;
          bytes += rows * 8;
          first();
        }
      } finally {
        await ex.close();
      }
    } catch (e) {
      failed(e);
    }
  }
};

// ---- the raw client ----

const target = new URL(url);
const RAW_HEADERS = {
  'Content-Type': 'application/vnd.apache.arrow.stream',
  'X-VGI-Accept-Encoding': 'zstd, gzip',
  'Accept-Encoding': 'zstd, gzip',
};

/** An answer's turn, its body decoded: a non-200 answer, an error flag or an error in the stream throws. */
const turnOf = (a: RawAnswer, exchange: boolean): Turn => {
  if (a.status !== 200) throw new Error(`HTTP ${a.status}: ${a.body.toString('utf8', 0, 200)}`);
  if (a.headers.get('x-vgi-rpc-error') !== undefined) throw new Error('the server answered X-VGI-RPC-Error');
  const coding = a.headers.get('x-vgi-content-encoding') ?? a.headers.get('content-encoding');
  const body = coding === 'zstd' ? decompressBody('zstd', a.body, 1 << 30) : coding === 'gzip' ? gunzipSync(a.body) : a.body;
  const turn = readTurn(new BodyFrames(body), undefined, exchange);
  if (turn.error !== undefined) throw turn.error;
  return turn;
};

/** The token metadata of a continuation. */
const tokens = (cursor: string, call: string | undefined): Map<string, string> => {
  const md = new Map<string, string>([[Keys.streamState, cursor]]);
  if (call !== undefined) md.set(Keys.callState, call);
  return md;
};

/** One producer stream on a raw connection: /init, then one tick per batch echoing the tokens. */
const rawProducerLoop = async (first: () => void): Promise<void> => {
  const http = new RawHttpConnection(target.hostname, Number(target.port));
  const method = Bench.methods.produce;
  try {
    while (running) {
      try {
        const init: Uint8Array[] = [];
        encodeRequest(init, { protocol: 'Bench', protocolVersion: undefined }, 'produce', method, { n_batches: 1_000_000_000n, rows: BigInt(rows) });
        let turn = turnOf(await http.post('/Bench/produce/init', RAW_HEADERS, init), false);
        const call = turn.callToken;
        // A tick depends only on the tokens it echoes: made again only when they change.
        let sent: { cursor: string; out: Uint8Array[] } | undefined;
        for (;;) {
          if (turn.data !== undefined) {
            if (turn.data.numRows !== rows) throw new Error(`a batch had ${turn.data.numRows} rows, expected ${rows}`);
            // Both servers' produce fills i with 0..rows-1 and x with i * 0.5: the last row shows the whole body arrived in order.
            const last = (turn.data.columns[1]?.values as Float64Array | undefined)?.[rows - 1];
            if (last !== (rows - 1) * 0.5) throw new Error(`a batch's last x was ${String(last)}, expected ${(rows - 1) * 0.5}`);
            units++;
            bytes += rows * 16;
            first();
          }
          if (!running || turn.cursor === undefined) break;
          if (sent?.cursor !== turn.cursor) {
            const out: Uint8Array[] = [];
            const enc = new StreamEncoder(emptySchema());
            enc.writeSchema(out);
            enc.writeColumns(out, 0, [], tokens(turn.cursor, call));
            enc.writeEos(out);
            sent = { cursor: turn.cursor, out };
          }
          turn = turnOf(await http.post('/Bench/produce/exchange', RAW_HEADERS, sent.out), false);
        }
      } catch (e) {
        failed(e);
      }
    }
  } finally {
    http.close();
  }
};

/** One exchange stream on a raw connection: /init, then turns of `rows` rows, each answer checked. */
const rawExchangeLoop = async (first: () => void): Promise<void> => {
  const http = new RawHttpConnection(target.hostname, Number(target.port));
  const method = Bench.methods.double;
  const x = new Float64Array(rows).map((_, i) => i + 0.25);
  const { length, columns } = emissionColumns(method.input, method.inputSchema, { _tag: 'columns', columns: { x }, metadata: undefined });
  try {
    while (running) {
      try {
        const init: Uint8Array[] = [];
        encodeRequest(init, { protocol: 'Bench', protocolVersion: undefined }, 'double', method, { factor: 2 });
        let turn = turnOf(await http.post('/Bench/double/init', RAW_HEADERS, init), true);
        const call = turn.callToken;
        // The request of a turn depends only on the tokens it echoes: made again only when they change.
        let sent: { cursor: string; out: Uint8Array[] } | undefined;
        while (running && turn.cursor !== undefined) {
          if (sent?.cursor !== turn.cursor) {
            const out: Uint8Array[] = [];
            const enc = new StreamEncoder(method.inputSchema);
            enc.writeSchema(out);
            enc.writeColumns(out, length, columns, tokens(turn.cursor, call));
            enc.writeEos(out);
            sent = { cursor: turn.cursor, out };
          }
          turn = turnOf(await http.post('/Bench/double/exchange', RAW_HEADERS, sent.out), true);
          const got = turn.data?.columns[0]?.values as Float64Array | undefined;
          if (turn.data?.numRows !== rows || got?.[1] !== x[1]! * 2) throw new Error('the exchange answered the wrong batch');
          units++;
          bytes += rows * 8;
          first();
        }
      } catch (e) {
        failed(e);
      }
    }
  } finally {
    http.close();
  }
};

const loop = clientKind === 'fetch'
  ? (workload === 'producer' ? producerLoop : exchangeLoop)
  : (workload === 'producer' ? rawProducerLoop : rawExchangeLoop);
const firsts: Promise<void>[] = [];
const loops = Array.from({ length: streams }, () => {
  let resolve: () => void = () => {};
  firsts.push(new Promise<void>((r) => { resolve = r; }));
  return loop(() => resolve());
});
await Promise.race([Promise.all(firsts), Promise.all(loops)]);
if (errors > 0) process.stderr.write(`http-load: ${errors} error(s) before ready, last: ${lastError}\n`);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

const t0 = performance.now();
const rl = createInterface({ input: process.stdin });
const finish = async (): Promise<void> => {
  running = false;
  rl.close();
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  if (conn !== undefined) await Promise.race([conn.close(), new Promise((r) => setTimeout(r, 1000))]);
  if (errors > 0) process.stderr.write(`http-load: ${errors} error(s), last: ${lastError}\n`);
  process.exit(0);
};
rl.on('line', (line) => {
  if (line === 'mark') {
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ units, bytes, errors, t_ms: performance.now() - t0, cpu_us: cpu.user + cpu.system })}\n`);
  } else if (line === 'stop') void finish();
});
rl.on('close', () => void finish());
