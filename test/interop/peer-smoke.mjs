#!/usr/bin/env node
// Smoke test: peer SERVER (test/interop/peer-server.mjs) driven by the peer CLIENT
// (@query-farm/vgi-rpc pipeConnect) over a child process's stdio pipes.
// Exercises every Bench and Interop method and prints the results.
// Exit code 0 = every check passed.
//
// Usage: node test/interop/peer-smoke.mjs [--verbose]

import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as A from "@query-farm/apache-arrow";
import { pipeConnect, RpcError } from "@query-farm/vgi-rpc";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, "peer-server.mjs");
const VERBOSE = process.argv.includes("--verbose");

let failures = 0;
let passes = 0;
function check(name, ok, detail) {
  if (ok) passes++;
  else failures++;
  const show = typeof detail === "string" ? detail : JSON.stringify(detail, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}${show !== undefined ? `  -> ${show}` : ""}`);
}
async function expectRpcError(name, fn, pred) {
  try {
    const r = await fn();
    check(name, false, `expected an error, got ${JSON.stringify(r)}`);
  } catch (e) {
    const fields = e instanceof RpcError
      ? { class: e.constructor.name, errorType: e.errorType, errorMessage: e.errorMessage, hasTraceback: e.remoteTraceback.length > 0, errorKind: e.errorKind }
      : { class: e?.constructor?.name, message: String(e?.message ?? e) };
    check(name, e instanceof RpcError && pred(e), fields);
    return e;
  }
}

/** Spawn the peer server; return {child, client, logs}. */
function connect(protocol) {
  const child = spawn(process.execPath, [SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  const logs = [];
  const client = pipeConnect(
    child.stdout, // a Node Readable works (Readable.toWeb(child.stdout) works too)
    { write: (b) => child.stdin.write(b), end: () => child.stdin.end() },
    { protocol, onLog: (msg) => logs.push(msg) },
  );
  return { child, client, logs };
}

async function shutdown({ child, client }) {
  client.close(); // ends the child's stdin -> server loop sees EOF and exits
  const [code] = child.exitCode !== null ? [child.exitCode] : await once(child, "exit");
  return code;
}

// Point "dataclass": one-row Arrow IPC stream carried in a binary column.
const POINT_SCHEMA = new A.Schema([new A.Field("x", new A.Float64(), false), new A.Field("y", new A.Float64(), false)]);
function encodePoint(x, y) {
  const children = [
    A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([x]) }),
    A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([y]) }),
  ];
  const batch = new A.RecordBatch(POINT_SCHEMA, A.makeData({ type: new A.Struct(POINT_SCHEMA.fields), length: 1, nullCount: 0, children }));
  return A.tableToIPC(new A.Table([batch]), "stream");
}
function decodePoint(buf) {
  const t = A.tableFromIPC(buf);
  return { x: t.getChild("x").get(0), y: t.getChild("y").get(0) };
}

// ---------------------------------------------------------------------------
// Bench
// ---------------------------------------------------------------------------
async function benchSuite() {
  console.log("== Bench (default protocol pick: first non-vgi_rpc binding) ==");
  const conn = connect(undefined);
  const { client } = conn;

  const desc = await client.describe();
  check("describe Bench", desc.protocolName === "Bench" && desc.hostedProtocols.join(",") === "Bench,Interop,vgi_rpc.Reflection.v1",
    { protocolName: desc.protocolName, protocolVersion: desc.protocolVersion, hosted: desc.hostedProtocols, methods: desc.methods.map((m) => `${m.name}:${m.type}${m.streamKind ? `/${m.streamKind}` : ""}`), hash: desc.protocolHash.slice(0, 16) });

  const add = await client.call("add", { a: 1.25, b: 2 });
  check("add(1.25, 2)", add?.result === 3.25, add);

  const payload = new Uint8Array(1024).map((_, i) => i & 0xff);
  const eb = await client.call("echo_bytes", { data: payload });
  check("echo_bytes(1 KiB)", eb?.result instanceof Uint8Array && Buffer.compare(Buffer.from(eb.result), Buffer.from(payload)) === 0, eb);

  const prod = await client.stream("produce", { n_batches: 3, rows: 4 });
  const batches = [];
  for await (const rows of prod) batches.push(rows);
  check("produce(3, 4)", batches.length === 3 && batches.every((b) => b.length === 4 && b[3].i === 3 && b[3].x === 1.5), batches);

  const dbl = await client.stream("double", { factor: 3 });
  const o1 = await dbl.exchange([{ x: 1 }, { x: 2.5 }]);
  const o2 = await dbl.exchange([{ x: -4 }]);
  dbl.close();
  check("double(3) two turns", o1.length === 2 && o1[1].x === 7.5 && o2[0].x === -12, { o1, o2 });

  const after = await client.call("add", { a: 1, b: 1 });
  check("call after exchange close", after?.result === 2, after);
  const code = await shutdown(conn);
  check("Bench server exit code", code === 0, code);
}

// ---------------------------------------------------------------------------
// Interop
// ---------------------------------------------------------------------------
async function interopSuite() {
  console.log("== Interop 1.2.0 (pipeConnect {protocol: 'Interop'}) ==");
  const conn = connect("Interop");
  const { client, logs } = conn;

  const desc = await client.describe();
  check("describe Interop", desc.protocolName === "Interop" && desc.protocolVersion === "1.2.0",
    { protocolName: desc.protocolName, protocolVersion: desc.protocolVersion, hosted: desc.hostedProtocols, nMethods: desc.methods.length });
  if (VERBOSE) for (const m of desc.methods) console.log(`   ${m.name} ${m.type}${m.streamKind ? `/${m.streamKind}` : ""} params=${m.paramsSchema.fields.map((x) => `${x.name}${x.nullable ? "?" : ""}:${x.type}`).join(",")} result=${m.resultSchema.fields.map((x) => `${x.name}:${x.type}`).join(",")}${m.headerSchema ? ` header=${m.headerSchema.fields.map((x) => x.name)}` : ""} hasReturn=${m.hasReturn}`);

  let r;
  r = await client.call("echo_string", { value: "héllo 🌍" });
  check("echo_string", r?.result === "héllo 🌍", r);

  r = await client.call("echo_bytes", { data: new Uint8Array([0, 1, 2, 255]) });
  check("echo_bytes", r?.result instanceof Uint8Array && r.result.join(",") === "0,1,2,255", Array.from(r?.result ?? []));

  r = await client.call("echo_int", { value: 42 });
  check("echo_int(42) -> number", r?.result === 42, r);
  r = await client.call("echo_int", { value: 2n ** 62n });
  check("echo_int(2^62) -> bigint (outside safe range)", r?.result === 2n ** 62n, r);
  r = await client.call("echo_int", { value: -(2n ** 63n) });
  check("echo_int(int64 min)", r?.result === -(2n ** 63n), r);

  r = await client.call("echo_float", { value: 3.14159 });
  check("echo_float", r?.result === 3.14159, r);

  r = await client.call("echo_bool", { value: true });
  const rf = await client.call("echo_bool", { value: false });
  check("echo_bool", r?.result === true && rf?.result === false, [r, rf]);

  r = await client.call("echo_list", { values: ["a", "b", "c"] });
  const listOut = r?.result ? Array.from(r.result) : null;
  check("echo_list (result is an arrow Vector)", JSON.stringify(listOut) === '["a","b","c"]', { ctor: r?.result?.constructor?.name, values: listOut });
  r = await client.call("echo_list", { values: [] });
  check("echo_list([])", r?.result && r.result.length === 0, { len: r?.result?.length });

  r = await client.call("echo_dict", { mapping: new Map([["a", 1], ["b", 2]]) });
  const mapJson = r?.result?.toJSON?.();
  check("echo_dict (result is an arrow MapRow)", mapJson && mapJson.a === 1n && mapJson.b === 2n, { ctor: r?.result?.constructor?.name, toJSON: mapJson });
  r = await client.call("echo_dict", { mapping: { x: 7n } });
  check("echo_dict (plain object input; int64 values must already be bigint)", r?.result?.toJSON?.().x === 7n, r?.result?.toJSON?.());
  try {
    await client.call("echo_dict", { mapping: { x: 7 } });
    check("echo_dict plain object with number values fails client-side", false, "no error");
  } catch (e) {
    check("echo_dict plain object with number values fails client-side", !(e instanceof RpcError), String(e.message));
  }

  r = await client.call("echo_enum", { status: "ACTIVE" });
  check("echo_enum(ACTIVE)", r?.result === "ACTIVE", r);
  await expectRpcError("echo_enum(BOGUS) -> ValueError", () => client.call("echo_enum", { status: "BOGUS" }), (e) => e.errorType === "ValueError");

  r = await client.call("echo_optional_string", { value: "x" });
  const rn = await client.call("echo_optional_string", { value: null });
  const ru = await client.call("echo_optional_string", {});
  check("echo_optional_string(x / null / omitted)", r?.result === "x" && rn?.result === null && ru?.result === null, [r, rn, ru]);

  r = await client.call("echo_point", { point: encodePoint(1.5, -2.25) });
  const pt = r?.result ? decodePoint(r.result) : null;
  check("echo_point (binary IPC dataclass)", pt?.x === 1.5 && pt?.y === -2.25, pt);

  const tsMs = 1700000000123.456; // epoch ms, fractional part = microseconds
  r = await client.call("echo_timestamp", { value: tsMs });
  check("echo_timestamp (JS number, epoch ms)", typeof r?.result === "number" && Math.abs(r.result - tsMs) < 1, { sent: tsMs, got: r?.result });
  r = await client.call("echo_timestamp", { value: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) });
  check("echo_timestamp (Date in, number out)", r?.result === Date.UTC(2024, 0, 2, 3, 4, 5, 6), r);

  r = await client.call("with_defaults", { required: 7 });
  check("with_defaults(required only; client sends null for the rest)", r?.result === "required=7, optional_str=default, optional_int=42", r);
  r = await client.call("with_defaults", { required: 1, optional_str: "s", optional_int: 9 });
  check("with_defaults(all)", r?.result === "required=1, optional_str=s, optional_int=9", r);

  await expectRpcError("raise_value_error", () => client.call("raise_value_error", { message: "boom" }),
    (e) => e.errorType === "ValueError" && e.errorMessage === "boom" && e.message === "ValueError: boom");
  await expectRpcError("raise_with_kind (client exposes no errorKind)", () => client.call("raise_with_kind", { message: "kinded" }),
    (e) => e.errorType === "CustomKindError" && e.errorMessage === "kinded" && e.errorKind === undefined);

  logs.length = 0;
  r = await client.call("echo_with_info_log", { value: "v1" });
  check("echo_with_info_log result", r?.result === "v1", r);
  check("echo_with_info_log logs", logs.length === 2 &&
    logs[0].level === "INFO" && logs[0].message === "info: v1" && logs[0].extra?.source === "interop" && logs[0].extra?.detail === "v1" &&
    logs[1].level === "DEBUG" && logs[1].message === "debug: v1", logs);

  r = await client.call("void_noop");
  check("void_noop -> null", r === null, r);

  // -- producers
  let s = await client.stream("produce_n", { count: 4 });
  const pn = [];
  for await (const rows of s) pn.push(...rows);
  check("produce_n(4)", JSON.stringify(pn) === JSON.stringify([0, 1, 2, 3].map((i) => ({ index: i, value: i * 10 }))), pn);

  s = await client.stream("produce_n", { count: 0 });
  const p0 = [];
  for await (const rows of s) p0.push(rows);
  check("produce_n(0) -> no batches", p0.length === 0, p0);

  s = await client.stream("produce_with_header", { count: 3 });
  const hdr = s.header;
  const ph = [];
  for await (const rows of s) ph.push(...rows);
  check("produce_with_header(3) header", hdr?.total_expected === 3 && hdr?.description === "producing 3 batches", hdr);
  check("produce_with_header(3) rows", ph.length === 3 && ph[2].value === 20, ph);

  s = await client.stream("cancellable_producer");
  const ticks = [];
  for (let k = 0; k < 5; k++) ticks.push(...(await s.tick()));
  await s.cancel();
  check("cancellable_producer: 5 ticks then cancel()", ticks.map((t) => t.index).join(",") === "0,1,2,3,4", ticks);
  r = await client.call("echo_string", { value: "after-cancel" });
  check("call after cancel", r?.result === "after-cancel", r);

  // cancel via breaking out of for-await (iterator return closes the input stream)
  s = await client.stream("cancellable_producer");
  let seen = 0;
  for await (const rows of s) {
    seen += rows.length;
    if (seen >= 3) break;
  }
  r = await client.call("echo_string", { value: "after-break" });
  check("break out of infinite producer, then call", seen === 3 && r?.result === "after-break", { seen, r });

  s = await client.stream("produce_error_mid_stream", { emit_before_error: 2 });
  const before = [];
  await expectRpcError("produce_error_mid_stream(2)", async () => {
    for await (const rows of s) before.push(...rows);
    return before;
  }, (e) => e.errorType === "RuntimeError" && e.errorMessage === "intentional error after 2 batches");
  check("produce_error_mid_stream: 2 batches before the error", before.length === 2, before);
  r = await client.call("echo_string", { value: "after-error" });
  check("call after mid-stream error", r?.result === "after-error", r);

  // -- exchanges
  s = await client.stream("exchange_scale", { factor: 2.5 });
  const e1 = await s.exchange([{ value: 2 }, { value: -1 }]);
  const e2 = await s.exchange([{ value: 10 }]);
  s.close();
  check("exchange_scale(2.5)", e1.map((x) => x.value).join(",") === "5,-2.5" && e2[0].value === 25, { e1, e2 });

  s = await client.stream("exchange_accumulate");
  const a1 = await s.exchange([{ value: 1 }, { value: 2 }]);
  const a2 = await s.exchange([{ value: 3.5 }]);
  const a3 = await s.exchange([{ value: -0.5 }]);
  s.close();
  check("exchange_accumulate", a1[0].running_sum === 3 && a1[0].exchange_count === 1 && a2[0].running_sum === 6.5 && a3[0].exchange_count === 3 && a3[0].running_sum === 6, [a1, a2, a3]);

  // explicit RecordBatch input (exact declared schema instead of inferred nullable float64)
  s = await client.stream("exchange_scale", { factor: 2 });
  const vschema = new A.Schema([new A.Field("value", new A.Float64(), false)]);
  const vbatch = new A.RecordBatch(vschema, A.makeData({ type: new A.Struct(vschema.fields), length: 2, nullCount: 0,
    children: [A.makeData({ type: new A.Float64(), length: 2, nullCount: 0, data: new Float64Array([1, 2]) })] }));
  const eb2 = await s.exchange(vbatch);
  await s.cancel();
  check("exchange with an explicit RecordBatch, then cancel()", eb2.map((x) => x.value).join(",") === "2,4", eb2);

  // -- unknown method / client-side errors
  try {
    await client.call("no_such_method", {});
    check("unknown method (client-side)", false, "no error");
  } catch (e) {
    check("unknown method is a client-side plain Error (not RpcError)", !(e instanceof RpcError) && /Unknown method/.test(e.message), e.message);
  }

  // -- callRaw: routing metadata supplied by the caller, no introspection, no defaults
  const rawSchema = new A.Schema([new A.Field("value", new A.Utf8(), false)]);
  const rawBatch = new A.RecordBatch(rawSchema, A.makeData({ type: new A.Struct(rawSchema.fields), length: 1, nullCount: 0,
    children: [A.vectorFromArray(["raw!"], new A.Utf8()).data[0]] }));
  const rawOut = await client.callRaw("echo_string", { batch: rawBatch, metadata: new Map([
    ["vgi_rpc.method", "echo_string"], ["vgi_rpc.protocol", "Interop"], ["vgi_rpc.request_version", "1"],
    ["vgi_rpc.protocol_version", "1.2.0"], ["vgi_rpc.request_id", "req-123"]]) });
  check("callRaw echo_string", rawOut?.batch.getChild("result").get(0) === "raw!" && rawOut.metadata.get("vgi_rpc.request_id") === "req-123",
    { value: rawOut?.batch.getChild("result").get(0), metadata: Object.fromEntries(rawOut?.metadata ?? []) });
  await expectRpcError("callRaw without protocol_version -> ProtocolVersionError", () => client.callRaw("echo_string", { batch: rawBatch, metadata: new Map([
    ["vgi_rpc.method", "echo_string"], ["vgi_rpc.protocol", "Interop"], ["vgi_rpc.request_version", "1"]]) }),
    (e) => e.errorType === "ProtocolVersionError");
  await expectRpcError("callRaw unknown method -> MethodNotImplementedError", () => client.callRaw("nope", { batch: rawBatch, metadata: new Map([
    ["vgi_rpc.method", "nope"], ["vgi_rpc.protocol", "Interop"], ["vgi_rpc.request_version", "1"]]) }),
    (e) => e.errorType === "MethodNotImplementedError");

  r = await client.call("echo_string", { value: "still alive" });
  check("connection still usable at the end", r?.result === "still alive", r);
  const code = await shutdown(conn);
  check("Interop server exit code", code === 0, code);
}

// ---------------------------------------------------------------------------
// Raw wire check: the peer client drops vgi_rpc.error_kind, so read it ourselves.
// ---------------------------------------------------------------------------
async function rawErrorKindCheck() {
  console.log("== raw wire: vgi_rpc.error_kind on the EXCEPTION batch ==");
  const child = spawn(process.execPath, [SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  const schema = new A.Schema([new A.Field("message", new A.Utf8(), false)]);
  const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 1, nullCount: 0,
    children: [A.vectorFromArray(["kinded"], new A.Utf8()).data[0]] }),
  new Map([["vgi_rpc.method", "raise_with_kind"], ["vgi_rpc.protocol", "Interop"], ["vgi_rpc.request_version", "1"], ["vgi_rpc.protocol_version", "1.2.0"]]));
  child.stdin.write(A.tableToIPC(new A.Table([batch]), "stream"));
  child.stdin.end();
  const chunks = [];
  for await (const c of child.stdout) chunks.push(c);
  const reader = A.RecordBatchReader.from(Buffer.concat(chunks));
  const out = [...reader];
  const md = out[0]?.metadata ?? new Map();
  const extra = JSON.parse(md.get("vgi_rpc.log_extra") ?? "{}");
  check("raise_with_kind carries vgi_rpc.error_kind=custom_kind", md.get("vgi_rpc.error_kind") === "custom_kind" && extra.error_kind === "custom_kind" && md.get("vgi_rpc.log_level") === "EXCEPTION",
    { numRows: out[0]?.numRows, resultSchema: out[0]?.schema.fields.map((x) => `${x.name}:${x.type}`).join(","), error_kind: md.get("vgi_rpc.error_kind"), log_message: md.get("vgi_rpc.log_message"), extraKeys: Object.keys(extra) });
}

const t0 = Date.now();
try {
  await benchSuite();
  await interopSuite();
  await rawErrorKindCheck();
} catch (e) {
  failures++;
  console.log(`FAIL  unexpected exception: ${e?.stack ?? e}`);
}
console.log(`\n${passes} passed, ${failures} failed (${Date.now() - t0} ms)`);
process.exit(failures === 0 ? 0 : 1);
