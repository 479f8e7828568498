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
// Usage: node bench/peer-http-server.mjs [--no-compression]
//   prints "PORT:<n>" on stdout once listening on 127.0.0.1; SIGTERM stops it.
// On Node 20 the peer can encode gzip only (it has no zstd encoder there), so
// its responses are gzip when the client accepts gzip, unless --no-compression.

import http from "node:http";
import { createHttpHandler, VgiRpcServer } from "@query-farm/vgi-rpc";
import { bench } from "../test/interop/peer-bench-protocol.mjs";

console.log = (...args) => console.error(...args);

const args = process.argv.slice(2);
const server = new VgiRpcServer(bench, { serverId: "peer-http-bench" });
const options = { serverId: "peer-http-bench" };
if (args.includes("--no-compression")) options.compressionLevel = null;
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
