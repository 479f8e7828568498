/**
 * Request handling up to the handler call: the request's metadata checks,
 * `(protocol, method)` routing, the per-binding protocol_version gate and
 * strict parameter validation, in the reference's order. Each failure names
 * the schema its error stream must be written on.
 */
import { type Schema } from 'apache-arrow';
import type { DecodedBatch } from '../wire/stream-reader.js';
import { Keys, REQUEST_VERSION, RETIRED_DESCRIBE_METHOD, TRANSPORT_OPTIONS_METHOD } from '../wire/metadata-keys.js';
import { Errors, RpcError } from '../service/errors.js';
import { emptySchema, fieldEntries, type MethodDef } from '../service/method.js';
import { isProtocolName, isSemver } from '../service/service.js';
import { type ValueType, isValid } from '../types/value-type.js';
import type { Binding, Hosting } from './hosting.js';
import { pyList, pyRepr } from './py-repr.js';
import { notHostedMessage } from './reflection.js';
import { typeToken } from '../types/type-tokens.js';

/** A request that failed before its handler ran: the error and the schema to report it on. */
export interface Rejection {
  readonly _tag: 'rejected';
  readonly schema: Schema;
  readonly error: RpcError;
  readonly requestId: string | undefined;
}

/** The reserved `__transport_options__` probe. */
export interface TransportOptionsProbe {
  readonly _tag: 'transportOptions';
}

/** A routed, validated request ready for its handler. */
export interface ResolvedCall {
  readonly _tag: 'call';
  readonly binding: Binding;
  readonly methodName: string;
  readonly method: MethodDef;
  readonly params: Record<string, unknown>;
  readonly metadata: ReadonlyMap<string, string>;
  readonly requestId: string | undefined;
}

const reject = (schema: Schema, error: RpcError, requestId?: string): Rejection => ({ _tag: 'rejected', schema, error, requestId });

const RETIRED_DESCRIBE_TEXT = `'__describe__' was retired. Introspection is now the 'vgi_rpc.Reflection.v1' protocol: call 'list_protocols' for what this server hosts, then 'describe' for one protocol's methods.`;

/** The directional protocol_version mismatch message, or undefined when the versions agree. */
export const versionMismatch = (protocol: string, server: string, client: string | undefined): string | undefined => {
  const head = `VGI client/worker protocol_version mismatch for protocol ${pyRepr(protocol)}.\n  Client: ${client ?? '<not declared>'}\n  Server: ${server}\n  Direction: `;
  if (client === undefined) return `${head}the client did not send a vgi_rpc.protocol_version metadata key. This is either a vgi-rpc framework bug or a non-VGI client connecting to a VGI worker.`;
  if (!isSemver(client)) return `${head}client sent a malformed protocol_version. Expected canonical semver MAJOR.MINOR.PATCH.`;
  const [cMaj, cMin] = client.split('.').map(Number) as [number, number];
  const [sMaj, sMin] = server.split('.').map(Number) as [number, number];
  if (cMaj === sMaj && cMin === sMin) return undefined;
  const older = cMaj < sMaj || (cMaj === sMaj && cMin < sMin);
  return older
    ? `${head}client is too old; upgrade the VGI extension/client to a version supporting protocol_version ${server}.`
    : `${head}server is too old; upgrade the VGI worker to a version supporting protocol_version ${client}.`;
};

const fmtSchema = (s: Schema): string => (s.fields.length === 0 ? '(empty)' : `(${s.fields.map((f) => `${f.name}: ${typeToken(f.type)}`).join(', ')})`);

const validationCache = new WeakMap<MethodDef, WeakMap<Schema, string | null>>();

/** Compare a request schema with the declared parameters; returns the TypeError message or null. */
export const checkParamsSchema = (methodName: string, declared: Schema, got: Schema, method: MethodDef): string | null => {
  let perMethod = validationCache.get(method);
  if (perMethod === undefined) {
    perMethod = new WeakMap();
    validationCache.set(method, perMethod);
  }
  const cached = perMethod.get(got);
  if (cached !== undefined) return cached;
  const result = computeSchemaCheck(methodName, declared, got, new Set(Object.keys(method.defaults)));
  perMethod.set(got, result);
  return result;
};

const computeSchemaCheck = (m: string, declared: Schema, got: Schema, defaulted: ReadonlySet<string>): string | null => {
  const have = got.fields;
  const wantNames = new Set(declared.fields.map((f) => f.name));
  const unexpected = have.filter((f) => !wantNames.has(f.name)).map((f) => pyRepr(f.name));
  if (unexpected.length > 0) return `${m}() got unexpected keyword argument(s): ${unexpected.join(', ')}`;
  const haveNames = new Set(have.map((f) => f.name));
  const missing = declared.fields.filter((f) => !haveNames.has(f.name) && !defaulted.has(f.name)).map((f) => pyRepr(f.name));
  if (missing.length > 0) return `${m}() missing required argument(s): ${missing.join(', ')}`;
  // Parameters with defaults may be left out; the ones sent must keep the declared order.
  const want = declared.fields.filter((f) => haveNames.has(f.name));
  if (want.length !== have.length) return `${m}() parameter schema expected ${want.length} fields, got ${have.length}`;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.name !== h.name) return `${m}() parameter schema field ${i} expected name ${pyRepr(w.name)}, got ${pyRepr(h.name)}`;
    const wt = typeToken(w.type);
    let ht: string;
    try {
      ht = typeToken(h.type);
    } catch {
      ht = String(h.type);
    }
    if (wt !== ht) return `${m}() parameter ${pyRepr(w.name)} expected Arrow type ${wt} but the request batch carried ${ht}`;
    if (w.nullable !== h.nullable) {
      return `${m}() parameter ${pyRepr(w.name)} expected nullable=${w.nullable ? 'True' : 'False'}, but the request batch carried nullable=${h.nullable ? 'True' : 'False'}`;
    }
  }
  return null;
};

/** Decode the single request row into a parameter object, applying defaults for null values. */
export const decodeParams = (methodName: string, method: MethodDef, batch: DecodedBatch): Record<string, unknown> => {
  const params: Record<string, unknown> = {};
  const entries = fieldEntries(method.params);
  const defaults = method.defaults as Record<string, unknown>;
  const complete = batch.columns.length === entries.length;
  const sent = batch.schema.fields;
  for (let i = 0; i < entries.length; i++) {
    const [name, t] = entries[i]!;
    const col = complete ? batch.columns[i] : batch.columns[sent.findIndex((f) => f.name === name)];
    if (col === undefined || !isValid(col, 0)) {
      if (name in defaults) params[name] = defaults[name];
      else if (t.nullable) params[name] = null;
      else throw Errors.type(`${methodName}() parameter ${pyRepr(name)} is not optional but got None`);
      continue;
    }
    try {
      params[name] = t.decode(col, 0);
    } catch (e) {
      throw e instanceof RpcError ? e : Errors.type(`${methodName}() parameter ${pyRepr(name)}: ${(e as Error).message}`);
    }
  }
  return params;
};

/** The binding and method `(protocol, method)` name, or the error saying why they name none. */
const lookUp = (hosting: Hosting, protocol: string, method: string): { binding: Binding; def: MethodDef } | RpcError => {
  if (!isProtocolName(protocol)) {
    const why = new TextEncoder().encode(protocol).byteLength > 255
      ? `Protocol name exceeds 255 bytes: ${protocol.slice(0, 64)}...`
      : `Protocol name ${pyRepr(protocol)} is not an identifier, optionally dot-qualified. Expected something like 'vgi.Identity.v1'.`;
    return Errors.protocolNotSupported(`'vgi_rpc.protocol' is not a protocol name: ${why}`);
  }
  const binding = hosting.bindings.get(protocol);
  if (binding === undefined) return Errors.protocolNotSupported(notHostedMessage(protocol, hosting.names()));
  const def = binding.methods.get(method);
  if (def === undefined) return Errors.methodNotImplemented(`Protocol ${pyRepr(protocol)} has no method ${pyRepr(method)}. Available: ${pyList(binding.methods.keys())}.`);
  return { binding, def };
};

/**
 * Resolve the `(protocol, method)` an HTTP path names (its segments raw,
 * still percent-encoded): the binding and method, or the error a 404
 * carries. A `%` in the protocol segment is refused rather than decoded.
 */
export const resolvePath = (hosting: Hosting, protocol: string, method: string): { binding: Binding; def: MethodDef } | RpcError => {
  if (protocol.includes('%')) {
    return Errors.protocolNotSpecified('The protocol path segment contains a percent sign. The protocol name charset never requires percent-encoding, so this is rejected rather than decoded.');
  }
  if (method === RETIRED_DESCRIBE_METHOD) return Errors.methodNotImplemented(RETIRED_DESCRIBE_TEXT);
  return lookUp(hosting, protocol, method);
};

/** The error a request for the retired `__describe__` gets. */
export const retiredDescribeError = (): RpcError => Errors.methodNotImplemented(RETIRED_DESCRIBE_TEXT);

/** Route and validate one request (its schema and first batch). */
export const resolveRequest = (hosting: Hosting, schema: Schema, batch: DecodedBatch | undefined): Rejection | TransportOptionsProbe | ResolvedCall => {
  const empty = emptySchema();
  if (batch === undefined) return reject(empty, Errors.protocol('Request stream contains no batches'));
  const md = batch.metadata ?? new Map<string, string>();
  const method = md.get(Keys.method);
  if (method === undefined) {
    return reject(empty, Errors.protocol(`Missing 'vgi_rpc.method' in request batch custom_metadata. Each request batch must carry a 'vgi_rpc.method' key in its Arrow IPC custom_metadata with the method name as a UTF-8 string.`));
  }
  if (batch.badUtf8Keys.includes(Keys.method)) return reject(empty, Errors.protocol(`'vgi_rpc.method' is not valid UTF-8.`));
  const version = md.get(Keys.requestVersion);
  if (version === undefined) {
    return reject(empty, Errors.version(`Missing 'vgi_rpc.request_version' in request batch custom_metadata. Set the 'vgi_rpc.request_version' custom_metadata value to '1'.`));
  }
  if (version !== REQUEST_VERSION) {
    return reject(empty, Errors.version(`Unsupported request version ${pyRepr(version)}, expected '1'. Set the 'vgi_rpc.request_version' custom_metadata value to '1'.`));
  }
  const requestId = md.get(Keys.requestId);
  if (method === TRANSPORT_OPTIONS_METHOD) return { _tag: 'transportOptions' };
  if (method === RETIRED_DESCRIBE_METHOD) return reject(empty, Errors.methodNotImplemented(RETIRED_DESCRIBE_TEXT), requestId);
  if (method.startsWith('__') && method.endsWith('__')) {
    return reject(empty, Errors.methodNotImplemented(`This server does not implement the reserved method ${pyRepr(method)}.`), requestId);
  }
  const protocol = md.get(Keys.protocol);
  if (batch.badUtf8Keys.includes(Keys.protocol)) return reject(empty, Errors.protocolNotSpecified(`'vgi_rpc.protocol' is not valid UTF-8.`), requestId);
  if (protocol === undefined || protocol === '') {
    return reject(empty, Errors.protocolNotSpecified(`Request carries no 'vgi_rpc.protocol' routing key. Every request must name the protocol it addresses. This server hosts: ${pyList(hosting.names())}.`), requestId);
  }
  const found = lookUp(hosting, protocol, method);
  if (found instanceof RpcError) return reject(empty, found, requestId);
  const { binding, def } = found;
  const replySchema = def.kind === 'unary' ? def.resultSchema : empty;
  if (schema.fields.length > 0 && batch.numRows !== 1) {
    return reject(replySchema, Errors.protocol(`Expected 1 row in request batch, got ${batch.numRows}. Each parameter is a column (not a row). The batch should have exactly 1 row with schema ${fmtSchema(def.paramsSchema)}.`), requestId);
  }
  if (binding.version !== undefined && !binding.versionExempt) {
    const mismatch = versionMismatch(protocol, binding.version, md.get(Keys.protocolVersion));
    if (mismatch !== undefined) return reject(replySchema, Errors.protocolVersion(mismatch, protocol, binding.version), requestId);
  }
  const problem = checkParamsSchema(method, def.paramsSchema, schema, def);
  if (problem !== null) return reject(replySchema, Errors.type(problem), requestId);
  try {
    const params = decodeParams(method, def, batch);
    return { _tag: 'call', binding, methodName: method, method: def, params, metadata: md, requestId };
  } catch (e) {
    return reject(replySchema, e instanceof RpcError ? e : Errors.type((e as Error).message), requestId);
  }
};
