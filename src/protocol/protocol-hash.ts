/**
 * The protocol hash: SHA-256 over "vgi_rpc.protocol_hash.v1|" plus the
 * canonical JSON of the protocol's method surface (protocol-delta §3.5).
 * Equal across implementations by construction.
 */
import { createHash } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import { typeToken } from '../types/type-tokens.js';

/** One method as the hash sees it. */
export interface HashedMethod {
  readonly name: string;
  readonly type: 'unary' | 'stream';
  readonly hasReturn: boolean;
  readonly hasHeader: boolean;
  readonly params: Schema;
  readonly result: Schema | undefined;
  readonly header: Schema | undefined;
}

type Json = string | boolean | readonly Json[] | { readonly [k: string]: Json };

/** Canonical JSON (RFC 8785 subset): sorted keys, no whitespace, strings and booleans only. */
export const canonicalJson = (v: Json): string => {
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const obj = v as { readonly [k: string]: Json };
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k]!)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode ${typeof v}`);
};

const fieldsJson = (s: Schema): Json[] => s.fields.map((f) => ({ name: f.name, nullable: f.nullable, type: typeToken(f.type) }));

/** The preimage JSON of a protocol's hash. */
export const hashPreimage = (protocol: string, methods: readonly HashedMethod[]): string => {
  const sorted = [...methods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return canonicalJson({
    protocol,
    methods: sorted.map((m) => {
      const entry: Record<string, Json> = { name: m.name, type: m.type, has_return: m.hasReturn, has_header: m.hasHeader, params: fieldsJson(m.params) };
      if (m.hasReturn && m.result !== undefined) entry.result = fieldsJson(m.result);
      if (m.hasHeader && m.header !== undefined) entry.header = fieldsJson(m.header);
      return entry;
    }),
  });
};

/** The protocol hash: 64 lowercase hex characters. */
export const protocolHash = (protocol: string, methods: readonly HashedMethod[]): string =>
  createHash('sha256').update(`vgi_rpc.protocol_hash.v1|${hashPreimage(protocol, methods)}`, 'utf8').digest('hex');
