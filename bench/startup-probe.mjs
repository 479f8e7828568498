#!/usr/bin/env node
// Startup probe: spawn a stdio server (`node SCRIPT ARGS...`) and time, with the
// PEER's client (@query-farm/vgi-rpc pipeConnect, protocol Bench), from the spawn
// call until the answer to the first `add` arrives. The probe's own start-up is
// outside the window (its modules are loaded before the clock starts).
// With --discovery, the server is a socket server instead: the time is taken
// until its first stdout line (the discovery line), then it gets SIGTERM.
// Prints ONE JSON object: {ms, answer} or {ms, line}.
//
// Usage: node bench/startup-probe.mjs [--discovery] SCRIPT ARGS...

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { pipeConnect } from "@query-farm/vgi-rpc";

const argv = process.argv.slice(2);
const discovery = argv[0] === "--discovery";
const [script, ...args] = discovery ? argv.slice(1) : argv;

const t0 = performance.now();
const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
if (discovery) {
  const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  const ms = performance.now() - t0;
  child.kill("SIGTERM");
  await once(child, "exit");
  process.stdout.write(`${JSON.stringify({ ms, line })}\n`);
} else {
  const client = pipeConnect(child.stdout, { write: (b) => child.stdin.write(b), end: () => child.stdin.end() }, { protocol: "Bench" });
  const r = await client.call("add", { a: 1, b: 2 });
  const ms = performance.now() - t0;
  client.close();
  if (child.exitCode === null) await once(child, "exit");
  process.stdout.write(`${JSON.stringify({ ms, answer: r.result })}\n`);
}
