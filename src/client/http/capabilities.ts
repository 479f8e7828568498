/**
 * What an HTTP server says it can do, read from the capability headers it
 * stamps on every response, first learned by the `HEAD {prefix}/health`
 * probe the client sends before any call.
 */
import { RpcClientError } from '../client-error.js';
import { DEFAULT_RESPONSE_BUDGET, HttpHeader, MIN_RESPONSE_BUDGET } from './wire-headers.js';

/** A server's advertised capabilities. */
export interface ServerCapabilities {
  /** `VGI-Accept-Max-Response-Bytes-Support: true`: the server honours the client's response budget. */
  readonly responseBudgetSupport: boolean;
  /** Codecs the server decodes on requests and produces on responses (lowercase tokens). */
  readonly supportedEncodings: readonly string[];
  /** The server's request body cap, when it advertises one. */
  readonly maxRequestBytes: number | undefined;
  /** The server's response body cap, when it advertises one. */
  readonly maxResponseBytes: number | undefined;
}

/** A positive safe integer written as plain decimal digits, else undefined. */
const decimal = (raw: string | null): number | undefined => {
  if (raw === null || !/^[1-9][0-9]*$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * Read the capability headers. An absent `VGI-Supported-Encodings` is a
 * server older than the header, which only spoke zstd; a present, empty one
 * means no compression at all.
 */
export const parseCapabilities = (headers: Headers): ServerCapabilities => {
  const encodings = headers.get(HttpHeader.supportedEncodings);
  return {
    responseBudgetSupport: headers.get(HttpHeader.acceptMaxResponseBytesSupport)?.trim().toLowerCase() === 'true',
    supportedEncodings: encodings === null ? ['zstd'] : encodings.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''),
    maxRequestBytes: decimal(headers.get(HttpHeader.maxRequestBytes)),
    maxResponseBytes: decimal(headers.get(HttpHeader.maxResponseBytes)),
  };
};

/** True when a response carries the capability headers (it came from a vgi-rpc server, not an intermediary). */
export const hasCapabilities = (headers: Headers): boolean => headers.has(HttpHeader.acceptMaxResponseBytesSupport);

/** Check a response budget option: a safe integer of at least 64 KiB (the header grammar's range). */
export const checkResponseBudget = (value: number | undefined): number => {
  if (value === undefined) return DEFAULT_RESPONSE_BUDGET;
  if (!Number.isSafeInteger(value) || value < MIN_RESPONSE_BUDGET) {
    throw RpcClientError.local('TypeError', `maxResponseBytes must be an integer of at least ${MIN_RESPONSE_BUDGET}, got ${value}`);
  }
  return value;
};
