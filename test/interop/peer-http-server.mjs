#!/usr/bin/env node
// Interop fixture: the npm peer's (@query-farm/vgi-rpc 0.25.4) HTTP handler
// (`createHttpHandler`, a fetch-style `(Request) => Response`) hosted on
// node:http, serving the same VgiRpcServer as test/interop/peer-server.mjs
// (Bench primary, Interop 1.2.0, Reflection). Prints `PORT:<n>` on stdout once
// listening; diagnostics go to stderr.
//
// Usage: node test/interop/peer-http-server.mjs [--port N] [--prefix /p]
//          [--max-request-bytes N] [--max-response-bytes N] [--no-compression]

import http from "node:http";
import { createHttpHandler, VgiRpcServer } from "@query-farm/vgi-rpc";
import { bench } from "./peer-bench-protocol.mjs";
import { interop } from "./peer-interop-protocol.mjs";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const numberFlag = (name) => (flag(name) === undefined ? undefined : Number(flag(name)));

const server = new VgiRpcServer(bench, { serverId: "peer-interop" });
server.addProtocol({ name: "Interop", protocol: interop, versionExempt: false });

const options = { serverId: "peer-interop" };
if (flag("--prefix") !== undefined) options.prefix = flag("--prefix");
if (numberFlag("--max-request-bytes") !== undefined) options.maxRequestBytes = numberFlag("--max-request-bytes");
if (numberFlag("--max-response-bytes") !== undefined) options.maxResponseBytes = numberFlag("--max-response-bytes");
if (args.includes("--no-compression")) options.compressionLevel = null;
const handle = createHttpHandler(server, options);

/** node:http request -> fetch Request (the body buffered: the peer reads it whole anyway). */
const toRequest = async (req) => {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? Buffer.concat(chunks) : undefined,
  });
};

const httpServer = http.createServer(async (req, res) => {
  try {
    const response = await handle(await toRequest(req));
    const headers = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    res.writeHead(response.status, headers);
    if (response.body !== null && req.method !== "HEAD") {
      for await (const chunk of response.body) res.write(chunk);
    }
    res.end();
  } catch (err) {
    process.stderr.write(`peer-http-server: ${err?.stack ?? err}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

httpServer.listen(numberFlag("--port") ?? 0, "127.0.0.1", () => {
  process.stdout.write(`PORT:${httpServer.address().port}\n`);
});

const stop = () => httpServer.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
