/**
 * Calling a server's methods by name, knowing them only from
 * `vgi_rpc.Reflection.v1`: the Reflection answer's schemas (parameters,
 * result, header) become method definitions a connection (byte stream or HTTP) can call, so a
 * generic client (the `vgi-rpc` command line) needs no service definition.
 *
 * What Reflection does not carry, and how these definitions cope:
 * - Parameter defaults: a parameter the caller leaves out (or passes as null)
 *   is sent as null under its declared, possibly non-nullable, field, which
 *   servers read as "use the default" (and reject when there is none), as
 *   the npm peer's client does.
 * - Stream output schemas: output batches are read with the schema they
 *   arrive with (`BatchView.rowsAsSent`).
 * - Exchange input schemas: the caller supplies the input fields
 *   (`exchangeWithInput`); servers cast compatible numeric columns.
 */
import type { Schema } from 'apache-arrow';
import { type ExchangeMethod, type MethodDef, type ProducerMethod, type UnaryMethod, emptySchema } from '../service/method.js';
import { type Fields, schemaOf } from '../types/record.js';
import { fieldValueType, fieldsOfSchema } from '../types/from-arrow.js';
import { optional } from '../types/containers.js';
import type { ValueType } from '../types/value-type.js';
import { Reflection } from '../protocol/reflection.js';
import { decodeOneStream } from '../wire/stream-reader.js';
import type { CallOptions, ClientConnection, StreamSession, Target } from './call-surface.js';
import { promises } from './typed-client.js';

/** How a method is called; `stream` is a stream whose server could not say which kind (the reference's `unknown`). */
export type ReflectedKind = 'unary' | 'producer' | 'exchange' | 'stream';

/** One method as Reflection describes it, with a definition to call it by. */
export interface ReflectedMethod {
  readonly name: string;
  readonly kind: ReflectedKind;
  /** The request's parameter schema, exactly as described. */
  readonly params: Schema;
  /** The `result` field schema of a unary method with a return value. */
  readonly result: Schema | undefined;
  /** The header schema of a stream that sends one. */
  readonly header: Schema | undefined;
  readonly idempotency: string;
  readonly deprecated: boolean;
  readonly deprecationMessage: string;
  /**
   * A definition to call it by: unary, or producer for every stream
   * (an exchange needs its input fields first: `exchangeWithInput`).
   */
  readonly def: UnaryMethod | ProducerMethod;
}

/** One hosted protocol as Reflection describes it. */
export interface ReflectedProtocol {
  readonly name: string;
  /** The declared version, undefined when the protocol declares none. */
  readonly version: string | undefined;
  readonly hash: string;
  readonly deprecated: boolean;
  readonly deprecationMessage: string;
  /** Methods sorted by name. */
  readonly methods: readonly ReflectedMethod[];
}

/** What `list_protocols` says about a server. */
export interface ReflectedServer {
  readonly serverId: string;
  readonly serverVersion: string;
  readonly requestVersion: string;
  /** Hosted protocol names with their versions and hashes (not their methods). */
  readonly protocols: readonly Omit<ReflectedProtocol, 'methods'>[];
}

/** A schema carried as IPC bytes (a full stream, or a bare schema message as pyarrow writes it); empty bytes mean none. */
const schemaFromBytes = (bytes: Uint8Array): Schema | undefined => (bytes.byteLength === 0 ? undefined : decodeOneStream(bytes).schema);

const nullableParams = (schema: Schema): Fields => {
  // Every parameter may be sent as null (see the module comment); the schema sent stays the described one.
  const out: Record<string, ValueType<unknown>> = {};
  for (const f of schema.fields) {
    const t = fieldValueType(f);
    out[f.name] = t.nullable ? t : optional(t);
  }
  return out;
};

const kindOf = (methodType: string, streamKind: string): ReflectedKind =>
  methodType === 'unary' ? 'unary' : streamKind === 'producer' || streamKind === 'exchange' ? streamKind : 'stream';

const defOf = (kind: ReflectedKind, params: Schema, result: Schema | undefined, header: Schema | undefined): UnaryMethod | ProducerMethod => {
  const base = { params: nullableParams(params), defaults: {}, doc: undefined, paramsSchema: params };
  if (kind === 'unary') {
    const field = result?.fields[0];
    return { ...base, kind: 'unary', result: field === undefined ? undefined : fieldValueType(field), resultSchema: result ?? emptySchema() };
  }
  return {
    ...base,
    kind: 'producer',
    output: {},
    header: header === undefined ? undefined : fieldsOfSchema(header),
    outputSchema: emptySchema(),
    headerSchema: header,
    state: undefined,
    stateSchema: undefined,
  };
};

type Summary = { protocol: string; protocol_version: string; protocol_hash: string; deprecated: boolean; deprecation_message: string };

const summaryOf = (s: Summary): Omit<ReflectedProtocol, 'methods'> => ({
  name: s.protocol,
  version: s.protocol_version === '' ? undefined : s.protocol_version,
  hash: s.protocol_hash,
  deprecated: s.deprecated,
  deprecationMessage: s.deprecation_message,
});

/** Ask the server what it hosts (`list_protocols`). */
export const listProtocols = async (conn: ClientConnection, options?: CallOptions): Promise<ReflectedServer> => {
  const r = await promises(Reflection, conn).list_protocols({}, options);
  return { serverId: r.server_id, serverVersion: r.server_version, requestVersion: r.request_version, protocols: r.protocols.map(summaryOf) };
};

/** Describe one hosted protocol (`describe`), with a callable definition per method. */
export const describeProtocol = async (conn: ClientConnection, protocol: string, options?: CallOptions): Promise<ReflectedProtocol> => {
  const d = await promises(Reflection, conn).describe({ protocol }, options);
  const methods = d.methods.map((m): ReflectedMethod => {
    const kind = kindOf(m.method_type, m.stream_kind);
    const params = schemaFromBytes(m.params_schema_ipc) ?? emptySchema();
    const result = m.has_return ? schemaFromBytes(m.result_schema_ipc) : undefined;
    const header = m.has_header ? schemaFromBytes(m.header_schema_ipc) : undefined;
    return {
      name: m.name,
      kind,
      params,
      result,
      header,
      idempotency: m.idempotency,
      deprecated: m.deprecated,
      deprecationMessage: m.deprecation_message,
      def: defOf(kind, params, result, header),
    };
  });
  return { ...summaryOf(d), methods };
};

/** Where calls to a described protocol go (its version is sent only when it declares one). */
export const targetOf = (p: Pick<ReflectedProtocol, 'name' | 'version'>): Target => ({ protocol: p.name, protocolVersion: p.version });

/** The exchange definition of a reflected stream method, with the input fields the caller will send. */
export const exchangeWithInput = (m: ReflectedMethod, input: Fields): ExchangeMethod => {
  const def = m.def as ProducerMethod;
  return { ...def, kind: 'exchange', input, inputSchema: schemaOf(input) };
};

/** Call a reflected unary method by name; resolves with the decoded result (undefined for a void method). */
export const callReflected = (conn: ClientConnection, p: ReflectedProtocol, m: ReflectedMethod, params: Record<string, unknown>, options?: CallOptions): Promise<unknown> => {
  if (m.def.kind !== 'unary') return Promise.reject(new TypeError(`${m.name} is a ${m.kind} method, not unary`));
  return conn.call(targetOf(p), m.name, m.def, params, options);
};

/**
 * Open a reflected stream: a producer, or an exchange when `input` fields are
 * given. Read its batches with `rowsAsSent()`.
 */
export const openReflected = (
  conn: ClientConnection,
  p: ReflectedProtocol,
  m: ReflectedMethod,
  params: Record<string, unknown>,
  input?: Fields,
  options?: CallOptions,
): Promise<StreamSession<Fields>> => {
  if (m.def.kind === 'unary') return Promise.reject(new TypeError(`${m.name} is a unary method, not a stream`));
  return conn.openStream(targetOf(p), m.name, input === undefined ? m.def : exchangeWithInput(m, input), params, options);
};
