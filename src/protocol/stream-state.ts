/**
 * A stream's declared state as bytes: one row of the method's `state`
 * fields as a complete Arrow IPC stream. This is what a cursor token
 * carries for a resumable stream, so a continuation can rebuild the stream
 * wherever it lands.
 */
import type { StreamMethod } from './stream-protocol.js';
import { concatBytes, StreamEncoder } from '../wire/batch-encoder.js';
import { StreamReader } from '../wire/stream-reader.js';
import { fieldEntries } from '../service/method.js';
import { Errors } from '../service/errors.js';

/** Encode `state` (a record of the method's declared state fields) as one row. */
export const encodeStreamState = (method: StreamMethod, state: Record<string, unknown>): Uint8Array => {
  const schema = method.stateSchema;
  if (schema === undefined || method.state === undefined) throw Errors.runtime('this stream method declares no state');
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  enc.writeColumns(out, 1, fieldEntries(method.state).map(([name, t]) => t.encode([state[name]])));
  enc.writeEos(out);
  return concatBytes(out);
};

/** Decode a state row written by `encodeStreamState` (throws when it is not one row of the declared fields). */
export const decodeStreamState = (method: StreamMethod, bytes: Uint8Array): Record<string, unknown> => {
  if (method.state === undefined) throw Errors.runtime('this stream method declares no state');
  const reader = new StreamReader();
  reader.push(bytes);
  reader.end();
  for (;;) {
    const f = reader.read();
    if (f === undefined || f === null) throw Errors.protocol('the stream state in the token holds no row');
    if (f.kind !== 'batch') continue;
    const b = f.batch;
    const entries = fieldEntries(method.state);
    if (b.numRows !== 1 || b.columns.length !== entries.length) throw Errors.protocol('the stream state in the token does not match the method\'s declared state');
    const state: Record<string, unknown> = {};
    entries.forEach(([name, t], i) => { state[name] = t.decode(b.columns[i]!, 0); });
    return state;
  }
};
