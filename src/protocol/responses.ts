/**
 * Building response batches: client log batches, EXCEPTION batches (with the
 * `log_extra` JSON and the hoisted `vgi_rpc.error_kind`) and complete error
 * streams. All are zero-row batches on the schema of the stream they live in.
 */
import type { Schema } from 'apache-arrow';
import { StreamEncoder } from '../wire/batch-encoder.js';
import { Keys } from '../wire/metadata-keys.js';
import type { ClientLogRecord } from '../service/call-context.js';
import type { ErrorDetail, WireErrorInfo } from '../service/errors.js';

/** Identifiers stamped on every log and error batch. */
export interface Stamp {
  readonly serverId: string;
  readonly requestId: string | undefined;
}

const MAX_TRACEBACK = 16_000;

interface Frame {
  readonly file: string;
  readonly line: number;
  readonly function: string;
  readonly code: string;
}

const FRAME_RE = /^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

/** The last five stack frames of a V8 stack, innermost last (the reference's `frames`). */
export const stackFrames = (stack: string): Frame[] => {
  const frames: Frame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME_RE.exec(line);
    if (m === null) continue;
    frames.push({ file: m[2] ?? '', line: Number(m[3]), function: m[1] ?? '<anonymous>', code: '' });
  }
  return frames.reverse().slice(-5);
};

const MAX_DETAILS_BYTES = 4096;

/**
 * `vgi_rpc.error_details` for `details`: a compact JSON array of typed
 * objects, or undefined when there are none or they must be dropped whole
 * (a missing or repeated `@type`, or over 4096 UTF-8 bytes).
 */
export const detailsJson = (details: readonly ErrorDetail[] | undefined): string | undefined => {
  if (details === undefined || details.length === 0) return undefined;
  const seen = new Set<string>();
  for (const d of details) {
    const t = (d as { '@type'?: unknown })['@type'];
    if (typeof t !== 'string' || t === '' || seen.has(t)) return undefined;
    seen.add(t);
  }
  const json = JSON.stringify(details);
  return Buffer.byteLength(json, 'utf8') > MAX_DETAILS_BYTES ? undefined : json;
};

/** Metadata of an EXCEPTION batch. */
export const errorMetadata = (err: WireErrorInfo, stamp: Stamp): Map<string, string> => {
  const traceback = err.traceback.length > MAX_TRACEBACK ? `${err.traceback.slice(0, MAX_TRACEBACK)}\n… <traceback truncated>` : err.traceback;
  const extra: Record<string, unknown> = {
    exception_type: err.errorType,
    exception_message: err.message,
    traceback,
    frames: stackFrames(err.traceback),
  };
  if (err.errorKind !== undefined) extra.error_kind = err.errorKind;
  extra.error_code = err.errorCode;
  const details = detailsJson(err.errorDetails);
  if (details !== undefined) extra.error_details = err.errorDetails;
  const md = new Map<string, string>([
    [Keys.logLevel, 'EXCEPTION'],
    [Keys.logMessage, `${err.errorType}: ${err.message}`],
    [Keys.logExtra, JSON.stringify(extra)],
  ]);
  if (err.errorKind !== undefined) md.set(Keys.errorKind, err.errorKind);
  md.set(Keys.errorCode, err.errorCode);
  if (details !== undefined) md.set(Keys.errorDetails, details);
  md.set(Keys.serverId, stamp.serverId);
  if (stamp.requestId !== undefined) md.set(Keys.requestId, stamp.requestId);
  return md;
};

/** Metadata of a client log batch. */
export const logMetadata = (rec: ClientLogRecord, stamp: Stamp): Map<string, string> => {
  const md = new Map<string, string>([
    [Keys.logLevel, rec.level],
    [Keys.logMessage, rec.message],
  ]);
  if (rec.extra !== undefined && Object.keys(rec.extra).length > 0) md.set(Keys.logExtra, JSON.stringify(rec.extra, jsonSafe));
  md.set(Keys.serverId, stamp.serverId);
  if (stamp.requestId !== undefined) md.set(Keys.requestId, stamp.requestId);
  return md;
};

const jsonSafe = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v);

/** Append log batches for `logs` to an open stream. */
export const writeLogs = (out: Uint8Array[], enc: StreamEncoder, logs: readonly ClientLogRecord[], stamp: Stamp): void => {
  for (const rec of logs) enc.writeEmpty(out, logMetadata(rec, stamp));
};

/** Append a complete error stream on `schema`: schema, logs, EXCEPTION batch, EOS. */
export const writeErrorStream = (out: Uint8Array[], schema: Schema, err: WireErrorInfo, stamp: Stamp, logs: readonly ClientLogRecord[] = []): void => {
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  writeLogs(out, enc, logs, stamp);
  enc.writeEmpty(out, errorMetadata(err, stamp));
  enc.writeEos(out);
};
