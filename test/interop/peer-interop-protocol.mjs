// The PEER's (@query-farm/vgi-rpc 0.25.4) definition of the `Interop` 1.2.0
// protocol, shared by test/interop/peer-server.mjs (stdio) and
// test/interop/peer-http-server.mjs (HTTP). Uses only the peer's public
// exports plus the Arrow build the peer itself uses
// ("@query-farm/apache-arrow"), which is needed for types the peer does not
// re-export (list, map, dictionary, timestamp) and for building/decoding
// batches. Never mix in the project's own "apache-arrow" package here: the
// peer's instanceof checks need its own copy.

import * as A from "@query-farm/apache-arrow";
import { batchFromTyped } from "./peer-bench-protocol.mjs";
import { bytes, float, int, Protocol, str } from "@query-farm/vgi-rpc";

// ---------------------------------------------------------------------------
// Error classes. The peer writes `error.name` (else constructor.name) as
// exception_type, and any string `errorKind` (instance or static) as
// vgi_rpc.error_kind.
// ---------------------------------------------------------------------------

class ValueError extends Error {
  constructor(message) {
    super(message);
    this.name = "ValueError";
  }
}

class RuntimeError extends Error {
  constructor(message) {
    super(message);
    this.name = "RuntimeError";
  }
}

class CustomKindError extends Error {
  constructor(message) {
    super(message);
    this.name = "CustomKindError";
    this.errorKind = "custom_kind"; // the peer accepts any non-empty string here
  }
}

// ---------------------------------------------------------------------------
// Arrow helpers
// ---------------------------------------------------------------------------

const f = (name, type, nullable = false) => new A.Field(name, type, nullable);

/** Decode a passthrough value (the peer hands Map/Timestamp/Dictionary/... params
 *  to handlers as a raw arrow-js `Data`) into a JS value. */
function dataValue(v) {
  if (v instanceof A.Data) return new A.Vector([v]).get(0);
  return v;
}

// Point{x: float64, y: float64} as the vgi-rpc "dataclass" convention:
// a binary column holding a one-row Arrow IPC stream.
const POINT_SCHEMA = new A.Schema([f("x", new A.Float64()), f("y", new A.Float64())]);

function decodePoint(buf) {
  const table = A.tableFromIPC(buf);
  if (table.numRows !== 1) throw new ValueError(`Point payload must have exactly 1 row, got ${table.numRows}`);
  return { x: table.getChild("x").get(0), y: table.getChild("y").get(0) };
}

function encodePoint({ x, y }) {
  const batch = new A.RecordBatch(POINT_SCHEMA, A.makeData({
    type: new A.Struct(POINT_SCHEMA.fields),
    length: 1,
    nullCount: 0,
    children: [
      A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([x]) }),
      A.makeData({ type: new A.Float64(), length: 1, nullCount: 0, data: new Float64Array([y]) }),
    ],
  }));
  return A.tableToIPC(new A.Table([batch]), "stream");
}

function float64Column(batch, name) {
  const col = batch.getChild(name);
  if (!col) throw new ValueError(`input batch has no column '${name}'`);
  return col;
}

// ---------------------------------------------------------------------------
// Protocol `Interop` 1.2.0
// ---------------------------------------------------------------------------

const LIST_UTF8 = new A.List(f("item", new A.Utf8(), true));
const MAP_UTF8_INT64 = new A.Map_(
  f("entries", new A.Struct([f("key", new A.Utf8(), false), f("value", new A.Int64(), true)]), false),
);
const STATUS_MEMBERS = ["PENDING", "ACTIVE", "CLOSED"];
// Two distinct Dictionary instances (param vs result) so each gets its own dictionary id.
const statusType = () => new A.Dictionary(new A.Utf8(), new A.Int16());
const TS_US_UTC = () => new A.Timestamp(A.TimeUnit.MICROSECOND, "UTC");

const INDEX_VALUE_SCHEMA = new A.Schema([f("index", new A.Int64()), f("value", new A.Int64())]);
const INDEX_SCHEMA = new A.Schema([f("index", new A.Int64())]);
const VALUE_SCHEMA = new A.Schema([f("value", new A.Float64())]);
const ACCUM_SCHEMA = new A.Schema([f("running_sum", new A.Float64()), f("exchange_count", new A.Int64())]);

function indexValueProducer(state, out) {
  if (state.i >= state.count) {
    out.finish();
    return;
  }
  const i = state.i++;
  out.emitRow({ index: i, value: i * 10 });
}

/** The peer's `Interop` protocol, version 1.2.0. */
export const interop = new Protocol("Interop", { protocolVersion: "1.2.0" })
  .unary("echo_string", {
    params: { value: str },
    result: { result: str },
    handler: ({ value }) => ({ result: value }),
  })
  .unary("echo_bytes", {
    params: { data: bytes },
    result: { result: bytes },
    handler: ({ data }) => ({ result: data }),
  })
  .unary("echo_int", {
    params: { value: int },
    result: { result: int },
    handler: ({ value }) => ({ result: value }),
  })
  .unary("echo_float", {
    params: { value: float },
    result: { result: float },
    handler: ({ value }) => ({ result: value }),
  })
  .unary("echo_bool", {
    params: { value: new A.Bool() },
    result: { result: new A.Bool() },
    handler: ({ value }) => ({ result: value }),
  })
  .unary("echo_list", {
    params: { values: LIST_UTF8 },
    result: { result: LIST_UTF8 },
    // A list param arrives as an arrow-js Vector; hand back a plain array.
    handler: ({ values }) => ({ result: values == null ? null : Array.from(values) }),
  })
  .unary("echo_dict", {
    params: { mapping: MAP_UTF8_INT64 },
    result: { result: MAP_UTF8_INT64 },
    // Map params arrive as raw arrow-js Data (peer "opaque passthrough"); rebuild a JS Map.
    handler: ({ mapping }) => {
      const row = dataValue(mapping);
      const m = new Map();
      for (const [k, v] of row) m.set(k, v);
      return { result: m };
    },
  })
  .unary("echo_enum", {
    params: { status: statusType() },
    result: { result: statusType() },
    handler: ({ status }) => {
      const name = dataValue(status);
      if (!STATUS_MEMBERS.includes(name)) {
        throw new ValueError(`'${name}' is not a valid Status (expected one of ${STATUS_MEMBERS.join(", ")})`);
      }
      return { result: name };
    },
  })
  .unary("echo_optional_string", {
    params: { value: f("value", new A.Utf8(), true) },
    result: { result: f("result", new A.Utf8(), true) },
    handler: ({ value }) => ({ result: value ?? null }),
  })
  .unary("echo_point", {
    params: { point: bytes },
    result: { result: bytes },
    handler: ({ point }) => ({ result: encodePoint(decodePoint(point)) }),
  })
  .unary("echo_timestamp", {
    params: { value: TS_US_UTC() },
    result: { result: TS_US_UTC() },
    // Timestamp params arrive as raw Data; returning the Data re-emits the exact microseconds.
    handler: ({ value }) => ({ result: value }),
  })
  .unary("with_defaults", {
    params: { required: int, optional_str: str, optional_int: int },
    result: { result: str },
    defaults: { optional_str: "default", optional_int: 42 },
    handler: ({ required, optional_str, optional_int }) => ({
      result: `required=${required}, optional_str=${optional_str}, optional_int=${optional_int}`,
    }),
  })
  .unary("raise_value_error", {
    params: { message: str },
    result: { result: str },
    handler: ({ message }) => {
      throw new ValueError(message);
    },
  })
  .unary("raise_with_kind", {
    params: { message: str },
    result: { result: str },
    handler: ({ message }) => {
      throw new CustomKindError(message);
    },
  })
  .unary("echo_with_info_log", {
    params: { value: str },
    result: { result: str },
    handler: ({ value }, ctx) => {
      ctx.clientLog("INFO", `info: ${value}`, { source: "interop", detail: value });
      ctx.clientLog("DEBUG", `debug: ${value}`, { source: "interop", detail: value });
      return { result: value };
    },
  })
  .unary("void_noop", {
    params: {},
    result: {},
    handler: () => ({}),
  })
  .producer("produce_n", {
    params: { count: int },
    outputSchema: INDEX_VALUE_SCHEMA,
    init: ({ count }) => ({ count: Number(count), i: 0 }),
    produce: indexValueProducer,
  })
  .producer("produce_with_header", {
    params: { count: int },
    outputSchema: INDEX_VALUE_SCHEMA,
    headerSchema: { total_expected: int, description: str },
    headerInit: ({ count }) => ({ total_expected: count, description: `producing ${count} batches` }),
    init: ({ count }) => ({ count: Number(count), i: 0 }),
    produce: indexValueProducer,
  })
  .producer("cancellable_producer", {
    params: {},
    outputSchema: INDEX_SCHEMA,
    init: () => ({ i: 0 }),
    produce: (state, out) => {
      out.emitRow({ index: state.i++ });
    },
    onCancel: () => {},
  })
  .producer("produce_error_mid_stream", {
    params: { emit_before_error: int },
    outputSchema: INDEX_VALUE_SCHEMA,
    init: ({ emit_before_error }) => ({ n: Number(emit_before_error), i: 0 }),
    produce: (state, out) => {
      if (state.i >= state.n) throw new RuntimeError(`intentional error after ${state.n} batches`);
      const i = state.i++;
      out.emitRow({ index: i, value: i * 10 });
    },
  })
  .exchange("exchange_scale", {
    params: { factor: float },
    inputSchema: VALUE_SCHEMA,
    outputSchema: VALUE_SCHEMA,
    init: ({ factor }) => ({ factor }),
    exchange: (state, input, out) => {
      const col = float64Column(input, "value");
      const n = input.numRows;
      const value = new Float64Array(n);
      for (let k = 0; k < n; k++) value[k] = col.get(k) * state.factor;
      out.emit(batchFromTyped(VALUE_SCHEMA, { value }, n));
    },
  })
  .exchange("exchange_accumulate", {
    params: {},
    inputSchema: VALUE_SCHEMA,
    outputSchema: ACCUM_SCHEMA,
    init: () => ({ sum: 0, count: 0 }),
    exchange: (state, input, out) => {
      const col = float64Column(input, "value");
      for (let k = 0; k < input.numRows; k++) state.sum += col.get(k);
      state.count += 1;
      out.emitRow({ running_sum: state.sum, exchange_count: state.count });
    },
  });
