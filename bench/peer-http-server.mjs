#!/usr/bin/env node
// The PEER (@query-farm/vgi-rpc 0.25.4) serving its `Bench` protocol over
// HTTP, for bench/http-rpc.ts: its `createHttpHandler` (a fetch-style
// `(Request) => Promise<Response>`; the peer ships no node:http adapter) on
// node:http, one process, one JS thread (the peer has no worker pool).
//
// The adapter is as thin as node:http allows, so the peer is not charged for
// our hosting: the request body is gathered into one Buffer (the peer reads
// it whole anyway), the Response body is read whole with arrayBuffer() and
// written with one res.end() under its Content-Length. Keep-alive stays on
// (node:http's default).
// The Bench definition is test/interop/peer-bench-protocol.mjs.
//
// Usage: node bench/peer-http-server.mjs [--no-compression] [--sticky]
//   prints "PORT:<n>" on stdout once listening on 127.0.0.1; SIGTERM stops it.
// --sticky (bench/sticky-http.ts): serve the sticky bench's `StickyBench`
// protocol instead (open / touch / ping, as bench/sticky-service.ts defines
// them) with the peer's sticky sessions on (`enableSticky`, a 3600 s default
// TTL); a `heap` line on stdin answers `HEAP:<bytes in use after two full
// GCs>` (run with node --expose-gc).
// On Node 20 the peer can encode gzip only (it has no zstd encoder there), so
// its responses are gzip when the client accepts gzip, unless --no-compression.

import http from "node:http";
import { createInterface } from "node:readline";
import { createHttpHandler, int, Protocol, VgiRpcServer } from "@query-farm/vgi-rpc";
import { bench } from "../test/interop/peer-bench-protocol.mjs";

console.log = (...args) => console.error(...args);

/** A sticky session's state: one counter (as bench/sticky-service.ts's). */
class Counter {
  value = 0n;
  close() {}
}

/** `StickyBench` as the peer defines it: the same methods, parameters and results as ours. */
const stickyBench = new Protocol("StickyBench")
  .unary("open", {
    params: { expires_at_ms: int },
    result: { result: int },
    handler: ({ expires_at_ms }, ctx) => {
      const at = Number(expires_at_ms);
      ctx.openSession(new Counter(), at > 0 ? (at - Date.now()) / 1000 : undefined);
      return { result: 0n };
    },
  })
  .unary("touch", {
    params: {},
    result: { result: int },
    handler: (_params, ctx) => {
      if (!(ctx.session instanceof Counter)) throw new Error("no session bound to this request");
      return { result: ++ctx.session.value };
    },
  })
  .unary("ping", { params: {}, result: { result: int }, handler: () => ({ result: 1n }) });

const args = process.argv.slice(2);
const sticky = args.includes("--sticky");
const server = new VgiRpcServer(sticky ? stickyBench : bench, { serverId: "peer-http-bench" });
const options = { serverId: "peer-http-bench" };
if (args.includes("--no-compression")) options.compressionLevel = null;
if (sticky) {
  options.enableSticky = true;
  options.stickyDefaultTtl = 3600;
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() !== "heap") return;
    globalThis.gc?.();
    globalThis.gc?.();
    process.stdout.write(`HEAP:${globalThis.gc === undefined ? -1 : process.memoryUsage().heapUsed}\n`);
  });
}
const handle = createHttpHandler(server, options);

const httpServer = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) : undefined,
    });
    handle(request)
      .then(async (response) => {
        const out = {};
        response.headers.forEach((value, name) => {
          out[name] = value;
        });
        const body = response.body === null || req.method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer());
        if (body !== undefined) out["content-length"] = String(body.length);
        res.writeHead(response.status, out);
        res.end(body);
      })
      .catch((err) => {
        process.stderr.write(`peer-http-server: ${err?.stack ?? err}\n`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
});
httpServer.keepAliveTimeout = 60_000;

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT:${httpServer.address().port}\n`);
});

const stop = () => {
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
