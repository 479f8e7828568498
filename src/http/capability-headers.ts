/**
 * The capability headers a server stamps on every response (OPTIONS and
 * `/health` included), so a client can discover limits and features with one
 * probe. Computed once from the server's configuration.
 */
import type { CompressionCodec } from './encoding-negotiation.js';
import { ACCEPT_MAX_RESPONSE_BYTES_SUPPORT_HEADER } from './response-budget.js';

/** Response headers in order, names as they should appear. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** The request cap the server enforces (413 above it). */
export const MAX_REQUEST_BYTES_HEADER = 'VGI-Max-Request-Bytes';
/** The server's hard response cap. */
export const MAX_RESPONSE_BYTES_HEADER = 'VGI-Max-Response-Bytes';
/** The cap on response bytes sent to external storage. */
export const MAX_EXTERNALIZED_RESPONSE_BYTES_HEADER = 'VGI-Max-Externalized-Response-Bytes';
/** Whether external storage is configured (always sent). */
export const EXTERNALIZATION_ENABLED_HEADER = 'VGI-Externalization-Enabled';
/** The codecs responses may use (always sent; empty: none). */
export const SUPPORTED_ENCODINGS_HEADER = 'VGI-Supported-Encodings';
/** Present when the server vends upload URLs. */
export const UPLOAD_URL_SUPPORT_HEADER = 'VGI-Upload-URL-Support';
/** The largest upload the vended URLs accept. */
export const MAX_UPLOAD_BYTES_HEADER = 'VGI-Max-Upload-Bytes';
/** Sent in proxy-proof `require` mode. */
export const PROXY_PROOF_REQUIRED_HEADER = 'VGI-Proxy-Proof-Required';
/** Sent when sticky sessions are on. */
export const STICKY_ENABLED_HEADER = 'VGI-Sticky-Enabled';
/** The default sticky-session TTL, in whole seconds. */
export const STICKY_DEFAULT_TTL_HEADER = 'VGI-Sticky-Default-TTL';
/** The header names a client echoes on session requests. */
export const STICKY_ECHO_HEADERS_HEADER = 'VGI-Sticky-Echo-Headers';

/** What OPTIONS responses add: discovery results may be cached for 5 minutes. */
export const OPTIONS_CACHE_CONTROL: readonly [string, string] = ['Cache-Control', 'public, max-age=300'];

/** The configuration the capability headers describe. Absent optional fields emit nothing. */
export interface CapabilityConfig {
  /**
   * Codecs the server compresses responses with, in its preference order
   * (`VGI-Supported-Encodings`, always sent: empty means "no compression",
   * which clients tell apart from an absent header, "legacy server").
   */
  readonly supportedEncodings: readonly CompressionCodec[];
  /** Whether external storage is configured (`VGI-Externalization-Enabled`, always sent). */
  readonly externalizationEnabled: boolean;
  /** Enforced request cap, encoded and decoded (413 beyond it). */
  readonly maxRequestBytes?: number;
  /** The server's hard response cap. */
  readonly maxResponseBytes?: number;
  /** Cap on externalized (uploaded) response bytes. */
  readonly maxExternalizedResponseBytes?: number;
  /** Present when an upload-URL provider is configured. */
  readonly uploadUrl?: { readonly maxUploadBytes?: number };
  /** True in proxy-proof `require` mode only (`allow` never denies, so it is not advertised). */
  readonly proxyProofRequired?: boolean;
  /** Present when sticky sessions are on. */
  readonly sticky?: {
    /** Default session TTL in seconds (sent as a whole number). */
    readonly defaultTtlSeconds: number;
    /** Header names a client must echo on session requests (each sent back as `VGI-Echo-<name>`). */
    readonly echoHeaders?: readonly string[];
  };
}

/**
 * The capability headers for `config`, in a stable order. Includes the
 * mandatory `VGI-Accept-Max-Response-Bytes-Support: true`, without which the
 * TypeScript client refuses to dispatch.
 */
export const capabilityHeaders = (config: CapabilityConfig): HeaderList => {
  const out: Array<readonly [string, string]> = [];
  const add = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) out.push([name, String(value)]);
  };
  add(MAX_REQUEST_BYTES_HEADER, config.maxRequestBytes);
  add(MAX_RESPONSE_BYTES_HEADER, config.maxResponseBytes);
  add(MAX_EXTERNALIZED_RESPONSE_BYTES_HEADER, config.maxExternalizedResponseBytes);
  add(EXTERNALIZATION_ENABLED_HEADER, config.externalizationEnabled ? 'true' : 'false');
  if (config.uploadUrl !== undefined) {
    add(UPLOAD_URL_SUPPORT_HEADER, 'true');
    add(MAX_UPLOAD_BYTES_HEADER, config.uploadUrl.maxUploadBytes);
  }
  add(SUPPORTED_ENCODINGS_HEADER, config.supportedEncodings.join(', '));
  add(ACCEPT_MAX_RESPONSE_BYTES_SUPPORT_HEADER, 'true');
  if (config.proxyProofRequired === true) add(PROXY_PROOF_REQUIRED_HEADER, 'true');
  if (config.sticky !== undefined) {
    add(STICKY_ENABLED_HEADER, 'true');
    add(STICKY_DEFAULT_TTL_HEADER, Math.floor(config.sticky.defaultTtlSeconds));
    const echo = config.sticky.echoHeaders ?? [];
    if (echo.length > 0) add(STICKY_ECHO_HEADERS_HEADER, echo.join(', '));
  }
  return out;
};
