#!/usr/bin/env node
// Benchmark of the PEER (@query-farm/vgi-rpc@0.25.4): its client (pipeConnect)
// against its server (test/interop/peer-server.mjs, protocol `Bench`) over stdio.
//
// Prints ONE JSON object on stdout:
//   {unary_seq_calls_per_s, unary_p50_us, unary_p99_us, unary_pipelined_calls_per_s,
//    producer_mb_per_s, exchange_round_trips_per_s, notes, extra}
// (with --only, just the fields of that workload). Progress goes to stderr.
// Total run time is kept under ~25 s.
//
// Usage: node bench/peer-bench.mjs [--only unary|producer|exchange]
// (bench/run.ts runs each workload in its own process, as it does for ours).

import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as A from "@query-farm/apache-arrow";
import { pipeConnect } from "@query-farm/vgi-rpc";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(HERE, "../test/interop/peer-server.mjs");
const log = (...a) => process.stderr.write(`${a.join(" ")}\n`);

function startServer() {
  const child = spawn(process.execPath, [SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  return child;
}

function connect(child, protocol = "Bench") {
  return pipeConnect(
    child.stdout,
    { write: (b) => child.stdin.write(b), end: () => child.stdin.end() },
    { protocol },
  );
}

async function stop(child, client) {
  if (client) client.close();
  else child.stdin.end();
  if (child.exitCode === null) await once(child, "exit");
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** FIFO mutex: the peer pipe client REJECTS overlapping calls ("Pipe transport is busy"),
 *  so concurrent callers must queue in user code. */
function makeQueue() {
  let tail = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

const notes = [];
const extra = {};

// ---------------------------------------------------------------------------
// (a) sequential unary + (b) "pipelined" unary through the peer client
// ---------------------------------------------------------------------------
async function unaryBenches() {
  const child = startServer();
  const client = connect(child);
  // warm-up (also performs the one describe round trip; list_protocols is skipped by {protocol})
  for (let i = 0; i < 500; i++) await client.call("add", { a: i, b: 1 });

  const lat = [];
  const deadline = performance.now() + 3000;
  const t0 = performance.now();
  while (lat.length < 5000 && performance.now() < deadline) {
    const s = performance.now();
    const r = await client.call("add", { a: lat.length, b: 0.5 });
    lat.push((performance.now() - s) * 1000);
    if (r.result !== lat.length - 1 + 0.5) throw new Error(`bad add result ${r.result}`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  const seq = { calls: lat.length, calls_per_s: lat.length / elapsed, p50_us: percentile(lat, 50), p99_us: percentile(lat, 99) };
  log(`(a) sequential add: ${seq.calls} calls, ${round(seq.calls_per_s)} calls/s, p50 ${round(seq.p50_us)} us, p99 ${round(seq.p99_us)} us`);

  // (b) Does the peer client pipeline? Fire 2 overlapping calls and see.
  const probe = await Promise.allSettled([client.call("add", { a: 1, b: 1 }), client.call("add", { a: 2, b: 2 })]);
  const rejected = probe.filter((p) => p.status === "rejected");
  const busyMsg = rejected[0]?.reason?.message ?? "";
  extra.peer_client_overlap_probe = rejected.length > 0 ? `second overlapping call rejected: ${busyMsg.split(" — ")[0]}` : "overlapping calls accepted";
  // let any in-flight probe call finish before the next phase
  await new Promise((r) => setTimeout(r, 20));

  // 64 concurrent promises, serialized by a user-side FIFO queue (the client cannot do it itself).
  const enqueue = makeQueue();
  const IN_FLIGHT = 64;
  let done = 0;
  const tEnd = performance.now() + 2000;
  const tp0 = performance.now();
  async function worker(id) {
    while (performance.now() < tEnd) {
      const r = await enqueue(() => client.call("add", { a: id, b: done }));
      if (typeof r.result !== "number") throw new Error("bad result");
      done++;
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => worker(i)));
  const pip = done / ((performance.now() - tp0) / 1000);
  log(`(b) 64 concurrent callers via user FIFO over one peer client: ${done} calls, ${round(pip)} calls/s`);
  await stop(child, client);
  return { seq, pip };
}

// ---------------------------------------------------------------------------
// (b') true wire pipelining against the peer SERVER (not the peer client):
// 64 pre-encoded requests in flight, responses read with arrow's multi-stream reader.
// ---------------------------------------------------------------------------
async function rawPipelined() {
  const child = startServer();
  const schema = new A.Schema([new A.Field("a", new A.Float64(), false), new A.Field("b", new A.Float64(), false)]);
  const batch = new A.RecordBatch(
    schema,
    A.makeData({
      type: new A.Struct(schema.fields),
      length: 1,
      nullCount: 0,
      children: [
        A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([1]) }),
        A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([2]) }),
      ],
    }),
    new Map([["vgi_rpc.method", "add"], ["vgi_rpc.protocol", "Bench"], ["vgi_rpc.request_version", "1"]]),
  );
  const req = A.tableToIPC(new A.Table([batch]), "stream");
  const IN_FLIGHT = 64;
  const DURATION_MS = 2000;
  let sent = 0;
  let received = 0;
  let stopSending = false;
  const send = (n) => {
    if (n <= 0) return;
    child.stdin.write(Buffer.concat(Array.from({ length: n }, () => req)));
    sent += n;
  };
  const t0 = performance.now();
  send(IN_FLIGHT);
  setTimeout(() => {
    stopSending = true;
  }, DURATION_MS);
  let tLast = t0;
  for await (const reader of A.RecordBatchReader.readAll(child.stdout)) {
    for await (const b of reader) {
      if (b.numRows === 1 && b.getChildAt(0).get(0) !== 3) throw new Error("bad raw add result");
    }
    received++;
    tLast = performance.now();
    if (!stopSending) send(1);
    else if (received === sent) break;
  }
  const rate = received / ((tLast - t0) / 1000);
  child.stdin.end();
  if (child.exitCode === null) await once(child, "exit");
  log(`(b') raw wire pipelining (64 in flight) against the peer server: ${received} calls, ${round(rate)} calls/s`);
  return rate;
}

// ---------------------------------------------------------------------------
// (c) producer throughput: 100 batches x 100,000 rows of {i: int64, x: float64}
// ---------------------------------------------------------------------------
async function producerBench() {
  const child = startServer();
  const client = connect(child);
  const N_BATCHES = 100;
  const ROWS = 100_000;
  const MB = (N_BATCHES * ROWS * 16) / 1e6;

  async function runRaw() {
    const s = await client.stream("produce", { n_batches: N_BATCHES, rows: ROWS });
    let batches = 0;
    let rows = 0;
    const t0 = performance.now();
    for (;;) {
      const raw = await s.tickRaw(); // undecoded RecordBatch; null at end of stream
      if (raw === null) break;
      batches++;
      rows += raw.batch.numRows;
    }
    const secs = (performance.now() - t0) / 1000;
    if (batches !== N_BATCHES || rows !== N_BATCHES * ROWS) throw new Error(`producer got ${batches} batches/${rows} rows`);
    return MB / secs;
  }
  await runRaw(); // warm-up (JIT, pipe buffers)
  const runs = [];
  for (let k = 0; k < 3; k++) runs.push(await runRaw());
  runs.sort((x, y) => x - y);
  const mbps = runs[1]; // median of 3
  log(`(c) producer 100 x 100k via tickRaw(): runs ${runs.map((x) => round(x)).join(", ")} MB/s -> median ${round(mbps)}`);

  // Same stream through the row-decoding async iterator (each row becomes a JS object): 10 batches only.
  const s = await client.stream("produce", { n_batches: 10, rows: ROWS });
  const t0 = performance.now();
  let rows = 0;
  for await (const chunk of s) rows += chunk.length;
  const iterMbps = (rows * 16) / 1e6 / ((performance.now() - t0) / 1000);
  extra.producer_row_iterator_mb_per_s = round(iterMbps);
  log(`(c') producer via for-await row iterator (10 x 100k): ${round(iterMbps)} MB/s`);
  await stop(child, client);
  return mbps;
}

// ---------------------------------------------------------------------------
// (d) exchange round trips: 100 rows per turn for ~2 s
// ---------------------------------------------------------------------------
async function exchangeBench() {
  const child = startServer();
  const client = connect(child);
  const rowsIn = Array.from({ length: 100 }, (_, i) => ({ x: i * 1.0 + 0.25 }));
  const s = await client.stream("double", { factor: 2 });
  for (let i = 0; i < 200; i++) await s.exchange(rowsIn); // warm-up
  let turns = 0;
  const t0 = performance.now();
  const tEnd = t0 + 2000;
  while (performance.now() < tEnd) {
    const out = await s.exchange(rowsIn);
    if (out.length !== 100 || out[1].x !== 2.5) throw new Error("bad exchange output");
    turns++;
  }
  const rate = turns / ((performance.now() - t0) / 1000);
  s.close();
  log(`(d) exchange double, 100 rows/turn, rows API: ${turns} turns, ${round(rate)} round trips/s`);
  await stop(child, client);
  return rate;
}

const tStart = performance.now();
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt < 0 ? undefined : process.argv[onlyAt + 1];
const runs = (w) => only === undefined || only === w;
const { seq, pip } = runs("unary") ? await unaryBenches() : {};
const rawPip = runs("unary") ? await rawPipelined() : undefined;
const mbps = runs("producer") ? await producerBench() : undefined;
const rt = runs("exchange") ? await exchangeBench() : undefined;

if (rawPip !== undefined) extra.unary_raw_wire_pipelined_calls_per_s = round(rawPip);
if (seq !== undefined) extra.unary_seq_calls_measured = seq.calls;
extra.total_run_s = round((performance.now() - tStart) / 1000, 2);
extra.node = process.version;

notes.push(
  "peer client + peer server (@query-farm/vgi-rpc 0.25.4 dist) over child-process stdio pipes, same machine",
  "(a) warm-up 500 calls, then until 5000 calls or 3 s; latency = client.call() wall time",
  `(b) the peer pipe client cannot pipeline: overlapping calls on one connection are REJECTED ("Pipe transport is busy"), not queued (${extra.peer_client_overlap_probe}). 64 concurrent promises were serialized through a user-side FIFO queue, so this is effectively sequential. extra.unary_raw_wire_pipelined_calls_per_s is true wire pipelining (64 pre-encoded requests in flight, written raw, responses decoded with arrow) against the peer SERVER, without the peer client`,
  "(c) 100 batches x 100,000 rows {i:int64,x:float64}; MB = rows*16 bytes/1e6; consumed with the peer session's tickRaw() (undecoded batches); median of 3 after 1 warm-up; extra.producer_row_iterator_mb_per_s is the same stream through the for-await row iterator (every row becomes a JS object)",
  "(d) exchange `double` with 100 rows/turn via session.exchange(rows) (rows API: schema inferred, results decoded to row objects), 200 warm-up turns then ~2 s",
);

const result = {
  ...(seq === undefined ? {} : { unary_seq_calls_per_s: round(seq.calls_per_s), unary_p50_us: round(seq.p50_us), unary_p99_us: round(seq.p99_us), unary_pipelined_calls_per_s: round(pip) }),
  ...(mbps === undefined ? {} : { producer_mb_per_s: round(mbps) }),
  ...(rt === undefined ? {} : { exchange_round_trips_per_s: round(rt) }),
  notes: notes.join(" | "),
  extra,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
