#!/usr/bin/env node
// The PEER (@query-farm/vgi-rpc 0.25.4) hosting its `Bench` protocol on a unix
// socket, for bench/unix.ts. Uses only the peer's public API: `serveUnix`
// (its launcher's worker runner: one listener, every connection served
// concurrently on this one JS thread, requests on a connection one at a time)
// plus the Arrow build the peer itself uses (@query-farm/apache-arrow).
//
// The Bench definition is shared with test/interop/peer-server.mjs
// (test/interop/peer-bench-protocol.mjs); only `add` and `echo_bytes` are
// exercised by the benchmark.
//
// Usage: node bench/peer-unix-server.mjs --unix PATH
//   prints "UNIX:<path>" on stdout once listening; SIGTERM/SIGINT stop it
//   (the peer has no drain of its own: the listener closes and the process exits).

import { serveUnix } from "@query-farm/vgi-rpc";
import { bench } from "../test/interop/peer-bench-protocol.mjs";

console.log = (...args) => console.error(...args);

const argv = process.argv.slice(2);
const at = argv.indexOf("--unix");
const unixPath = at >= 0 ? argv[at + 1] : undefined;
if (!unixPath) {
  process.stderr.write("usage: peer-unix-server --unix PATH\n");
  process.exit(64);
}

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
