/**
 * How each method presents itself to Reflection and the protocol hash:
 * method type, stream kind, return/header flags and the three schemas.
 */
import type { Schema } from 'apache-arrow';
import type { MethodDef } from '../service/method.js';
import type { HashedMethod } from './protocol-hash.js';

/** One method's describable surface. */
export interface MethodSurface extends HashedMethod {
  readonly streamKind: '' | 'producer' | 'exchange';
}

/** The surface of a method definition. */
export const surfaceOf = (name: string, m: MethodDef): MethodSurface => {
  if (m.kind === 'unary') {
    const result: Schema = m.resultSchema;
    return { name, type: 'unary', streamKind: '', hasReturn: result.fields.length > 0, hasHeader: false, params: m.paramsSchema, result, header: undefined };
  }
  return {
    name,
    type: 'stream',
    streamKind: m.kind,
    hasReturn: false,
    hasHeader: m.headerSchema !== undefined,
    params: m.paramsSchema,
    result: undefined,
    header: m.headerSchema,
  };
};
