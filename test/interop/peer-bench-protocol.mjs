// The PEER's (@query-farm/vgi-rpc 0.25.4) definition of the `Bench`
// protocol, shared by test/interop/peer-server.mjs (stdio) and
// bench/peer-unix-server.mjs (unix socket). Uses only the peer's public API
// and the Arrow build the peer itself uses (@query-farm/apache-arrow).

import * as A from "@query-farm/apache-arrow";
import { bytes, float, int, Protocol } from "@query-farm/vgi-rpc";

const f = (name, type, nullable = false) => new A.Field(name, type, nullable);

/** Build an N-row RecordBatch straight from typed arrays (no per-value boxing). */
export function batchFromTyped(schema, columns, length) {
  const children = schema.fields.map((fld) =>
    A.makeData({ type: fld.type, length, nullCount: 0, data: columns[fld.name] }),
  );
  return new A.RecordBatch(
    schema,
    A.makeData({ type: new A.Struct(schema.fields), length, nullCount: 0, children }),
  );
}

const PRODUCE_SCHEMA = new A.Schema([f("i", new A.Int64()), f("x", new A.Float64())]);
const X_SCHEMA = new A.Schema([f("x", new A.Float64())]);

/** `Bench` (no protocol_version): add, echo_bytes, produce, double. */
export const bench = new Protocol("Bench")
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
      if (!col) throw new Error("input batch has no column 'x'");
      const n = input.numRows;
      const x = new Float64Array(n);
      for (let k = 0; k < n; k++) x[k] = col.get(k) * state.factor;
      out.emit(batchFromTyped(X_SCHEMA, { x }, n));
    },
  });
