#!/usr/bin/env node
// The PEER (@query-farm/vgi-rpc 0.25.4) hosting its `Bench` protocol on a unix
// socket, for bench/unix.ts. Uses only the peer's public API: `serveUnix`
// (its launcher's worker runner: one listener, every connection served
// concurrently on this one JS thread, requests on a connection one at a time)
// plus the Arrow build the peer itself uses (@query-farm/apache-arrow).
//
// The Bench definition is the same as in test/interop/peer-server.mjs (keep
// them in sync); only `add` and `echo_bytes` are exercised by the benchmark.
//
// Usage: node bench/peer-unix-server.mjs --unix PATH
//   prints "UNIX:<path>" on stdout once listening; SIGTERM/SIGINT stop it
//   (the peer has no drain of its own: the listener closes and the process exits).

import * as A from "@query-farm/apache-arrow";
import { bytes, float, int, Protocol, serveUnix } from "@query-farm/vgi-rpc";

console.log = (...args) => console.error(...args);

const argv = process.argv.slice(2);
const at = argv.indexOf("--unix");
const unixPath = at >= 0 ? argv[at + 1] : undefined;
if (!unixPath) {
  process.stderr.write("usage: peer-unix-server --unix PATH\n");
  process.exit(64);
}

const f = (name, type, nullable = false) => new A.Field(name, type, nullable);

function batchFromTyped(schema, columns, length) {
  const children = schema.fields.map((fld) => A.makeData({ type: fld.type, length, nullCount: 0, data: columns[fld.name] }));
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length, nullCount: 0, children }));
}

const PRODUCE_SCHEMA = new A.Schema([f("i", new A.Int64()), f("x", new A.Float64())]);
const X_SCHEMA = new A.Schema([f("x", new A.Float64())]);

const bench = new Protocol("Bench")
  .unary("add", {
    params: { a: float, b: float },
    result: { result: float },
    handler: ({ a, b }) => ({ result: a + b }),
  })
  .unary("echo_bytes", {
    params: { data: bytes },
    result: { result: bytes },
    handler: ({ data }) => ({ result: data }),
  })
  .producer("produce", {
    params: { n_batches: int, rows: int },
    outputSchema: PRODUCE_SCHEMA,
    init: ({ n_batches, rows }) => ({ remaining: Number(n_batches), rows: Number(rows) }),
    produce: (state, out) => {
      if (state.remaining <= 0) {
        out.finish();
        return;
      }
      state.remaining -= 1;
      const n = state.rows;
      const i = new BigInt64Array(n);
      const x = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        i[k] = BigInt(k);
        x[k] = k * 0.5;
      }
      out.emit(batchFromTyped(PRODUCE_SCHEMA, { i, x }, n));
    },
  })
  .exchange("double", {
    params: { factor: float },
    inputSchema: X_SCHEMA,
    outputSchema: X_SCHEMA,
    init: ({ factor }) => ({ factor }),
    exchange: (state, input, out) => {
      const col = input.getChild("x");
      const n = input.numRows;
      const x = new Float64Array(n);
      for (let k = 0; k < n; k++) x[k] = col.get(k) * state.factor;
      out.emit(batchFromTyped(X_SCHEMA, { x }, n));
    },
  });

// backlog 64: its default (16) refuses part of a burst of 32 connects.
// idleTimeout 0: no self-termination between benchmark phases.
const handle = await serveUnix(bench, { unixPath, idleTimeout: 0, backlog: 64, serverId: "peer-unix-bench" });
const stop = () => {
  void handle.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await handle.done;
