/**
 * Test support: send hand-built request streams over any client transport
 * and read back whole response streams, without the client library's
 * validation, to check what the server puts on the wire.
 */
import * as A from 'apache-arrow';
import { StreamEncoder } from '../../src/wire/batch-encoder.js';
import type { DecodedBatch } from '../../src/wire/stream-reader.js';
import type { ClientTransport } from '../../src/client/connection.js';
import { Keys } from '../../src/wire/metadata-keys.js';

/** A response stream as read off the wire. */
export interface RawResponse {
  readonly schema: A.Schema;
  readonly batches: DecodedBatch[];
}

/** Build a request stream: `schema`, one batch of `columns` (`rows` rows) carrying `metadata`, EOS. */
export const requestBytes = (schema: A.Schema, columns: A.Data[], rows: number, metadata: Record<string, string>): Uint8Array[] => {
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  enc.writeColumns(out, rows, columns, new Map(Object.entries(metadata)));
  enc.writeEos(out);
  return out;
};

/** Read one complete response stream. */
export const readResponse = async (t: ClientTransport): Promise<RawResponse> => {
  const first = await t.frames.next();
  if (first === null || first.kind !== 'schema') throw new Error(`expected a schema, got ${first === null ? 'end of input' : first.kind}`);
  const batches: DecodedBatch[] = [];
  for (;;) {
    const f = await t.frames.next();
    if (f === null) throw new Error('input ended inside a response');
    if (f.kind === 'eos') break;
    if (f.kind === 'batch') batches.push(f.batch);
  }
  return { schema: first.schema, batches };
};

/** An EXCEPTION batch as the reference client decodes it (its `RpcError` fields). */
export interface RawError {
  /** `exception_type` from `vgi_rpc.log_extra` (the level, `EXCEPTION`, when absent, as the reference does). */
  readonly type: string;
  readonly message: string;
  /** `vgi_rpc.error_kind`, else `error_kind` in `log_extra`; undefined when neither carries one. */
  readonly kind: string | undefined;
  /** `vgi_rpc.error_code`, else `error_code` in `log_extra`; undefined when neither carries one. */
  readonly code: string | undefined;
  readonly extra: Record<string, unknown>;
}

/**
 * The EXCEPTION batch of a response, parsed; undefined when there is none.
 * The error model's fields are read as the reference's `_error_model_fields`
 * does: the top-level key first, its `log_extra` mirror as the fallback.
 */
export const errorOf = (r: RawResponse): RawError | undefined => {
  const b = r.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION');
  if (b === undefined) return undefined;
  const extra = JSON.parse(b.meta(Keys.logExtra) ?? '{}') as Record<string, unknown>;
  const field = (key: string, mirror: string): string | undefined => {
    const mirrored = extra[mirror];
    return b.meta(key) ?? (typeof mirrored === 'string' ? mirrored : undefined);
  };
  return {
    type: typeof extra.exception_type === 'string' ? extra.exception_type : 'EXCEPTION',
    message: String(extra.exception_message),
    kind: field(Keys.errorKind, 'error_kind'),
    code: field(Keys.errorCode, 'error_code'),
    extra,
  };
};

/** Standard routing metadata for a request. */
export const route = (protocol: string | undefined, method: string, extra: Record<string, string> = {}): Record<string, string> => ({
  [Keys.method]: method,
  ...(protocol === undefined ? {} : { [Keys.protocol]: protocol }),
  [Keys.requestVersion]: '1',
  ...extra,
});

/** A two-byte method name whose bytes `patchNonUtf8Method` turns into b"\xff\xfe" after encoding (same length, framing untouched). */
export const NON_UTF8_PLACEHOLDER = '\u0001\u0002';

/** Patch the one NON_UTF8_PLACEHOLDER string in encoded request chunks to invalid UTF-8, in place. */
export const patchNonUtf8Method = (chunks: readonly Uint8Array[]): void => {
  let patched = 0;
  for (const c of chunks) {
    // A flatbuffer string: u32 length 2, the two bytes, a NUL terminator.
    for (let i = 0; i + 6 < c.length; i++) {
      if (c[i] === 2 && c[i + 1] === 0 && c[i + 2] === 0 && c[i + 3] === 0 && c[i + 4] === 1 && c[i + 5] === 2 && c[i + 6] === 0) {
        c[i + 4] = 0xff;
        c[i + 5] = 0xfe;
        patched++;
      }
    }
  }
  if (patched !== 1) throw new Error(`expected one placeholder to patch, found ${patched}`);
};
