/**
 * A call's request as bytes: one IPC stream on the method's parameter
 * schema, one row of parameters, routing metadata on the batch. Every
 * connection kind sends exactly this (a byte stream writes it to the wire,
 * HTTP posts it as the body).
 */
import { StreamEncoder } from '../wire/batch-encoder.js';
import type { ShmChannel } from '../wire/shm-pointer.js';
import { Keys, REQUEST_VERSION } from '../wire/metadata-keys.js';
import { type MethodDef, fieldEntries } from '../service/method.js';
import { RpcClientError } from './client-error.js';
import type { Target } from './call-surface.js';

const metadataCache = new WeakMap<Target, Map<string, Map<string, string>>>();
const NO_EXTRA: ReadonlyMap<string, string> = new Map();
const stableCache = new WeakMap<ReadonlyMap<string, string>, WeakMap<Target, Map<string, Map<string, string>>>>();

/**
 * The routing metadata of a request. Without extra keys, or with `stable`
 * ones (a Map that never changes, like a connection's segment keys), the
 * same Map object is reused per (target, method), which lets the encoder
 * reuse the request's encoded batch header call after call.
 */
const requestMetadata = (target: Target, method: string, extra: ReadonlyMap<string, string> | undefined, stable: ReadonlyMap<string, string> = NO_EXTRA): Map<string, string> => {
  if (stable.size > 0) {
    if (extra !== undefined && extra.size > 0) return buildRequestMetadata(target, method, new Map([...stable, ...extra]));
    let byTarget = stableCache.get(stable);
    if (byTarget === undefined) {
      byTarget = new WeakMap();
      stableCache.set(stable, byTarget);
    }
    let perTarget = byTarget.get(target);
    if (perTarget === undefined) {
      perTarget = new Map();
      byTarget.set(target, perTarget);
    }
    let md = perTarget.get(method);
    if (md === undefined) {
      md = buildRequestMetadata(target, method, stable);
      perTarget.set(method, md);
    }
    return md;
  }
  if (extra === undefined || extra.size === 0) {
    let perTarget = metadataCache.get(target);
    if (perTarget === undefined) {
      perTarget = new Map();
      metadataCache.set(target, perTarget);
    }
    let md = perTarget.get(method);
    if (md === undefined) {
      md = buildRequestMetadata(target, method, undefined);
      perTarget.set(method, md);
    }
    return md;
  }
  return buildRequestMetadata(target, method, extra);
};

const buildRequestMetadata = (target: Target, method: string, extra: ReadonlyMap<string, string> | undefined): Map<string, string> => {
  const md = new Map<string, string>([
    [Keys.method, method],
    [Keys.protocol, target.protocol],
    [Keys.requestVersion, REQUEST_VERSION],
  ]);
  if (target.protocolVersion !== undefined) md.set(Keys.protocolVersion, target.protocolVersion);
  if (extra !== undefined) for (const [k, v] of extra) md.set(k, v);
  return md;
};

/** A client segment as a request uses it: the keys that name it on every request, and the channel a large request batch goes through. */
export interface RequestShm {
  readonly metadata: ReadonlyMap<string, string>;
  readonly channel: ShmChannel;
}

/**
 * Encode a request stream for `method` with `params` (defaults merged,
 * absent optionals sent as null). With `shm`, the request names the
 * client's segment and a large request batch is written into it (a pointer
 * on the wire), as the reference's C++ client does.
 */
export const encodeRequest = (out: Uint8Array[], target: Target, name: string, method: MethodDef, params: Record<string, unknown>, extra?: ReadonlyMap<string, string>, shm?: RequestShm): void => {
  const enc = new StreamEncoder(method.paramsSchema);
  enc.writeSchema(out);
  const entries = fieldEntries(method.params);
  const defaults = method.defaults as Record<string, unknown>;
  const columns = entries.map(([k, t]) => {
    let v = params[k];
    if (v === undefined) v = k in defaults ? defaults[k] : null;
    if (v === null && !t.nullable) throw RpcClientError.local('TypeError', `${name}() parameter '${k}' is required (${t.label})`);
    return t.encode([v]);
  });
  const md = requestMetadata(target, name, extra, shm?.metadata);
  if (shm !== undefined) shm.channel.writeBatch(enc, out, entries.length === 0 ? 0 : 1, columns, md);
  else enc.writeColumns(out, entries.length === 0 ? 0 : 1, columns, md);
  enc.writeEos(out);
};
