#!/usr/bin/env node
// Interop fixture: serves two protocols (Bench, Interop 1.2.0) from ONE
// @query-farm/vgi-rpc@0.25.4 VgiRpcServer over stdio.
//
// stdout carries nothing but Arrow IPC; diagnostics go to stderr only.
// The protocols are the peer's own definitions (peer-bench-protocol.mjs,
// peer-interop-protocol.mjs), written with the peer's public exports only.
//
// Usage: node test/interop/peer-server.mjs        (then speak vgi-rpc on stdin/stdout)

import { VgiRpcServer } from "@query-farm/vgi-rpc";
import { bench } from "./peer-bench-protocol.mjs";
import { interop } from "./peer-interop-protocol.mjs";

// Keep stdout clean: anything that tries to console.log goes to stderr.
console.log = (...args) => console.error(...args);

// ---------------------------------------------------------------------------
// Host both on one server, serve stdio.
// ---------------------------------------------------------------------------

const server = new VgiRpcServer(bench, { serverId: "peer-interop" });
server.addProtocol({ name: "Interop", protocol: interop, versionExempt: false });

// serveConnection(readable) with no writable writes synchronously to fd 1.
server
  .serveConnection(process.stdin)
  .then(() => process.exit(0))
  .catch((err) => {
    process.stderr.write(`peer-server: fatal: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
