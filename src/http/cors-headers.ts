/**
 * CORS for browser clients, opt-in (with it off a server sends no CORS
 * header at all). The rules follow the reference (Falcon's CORS middleware
 * plus its CORS extras):
 * - a request from an allowed `Origin` gets `Access-Control-Allow-Origin`
 *   (the origin, or `*` when every origin is allowed) and
 *   `Access-Control-Expose-Headers`; a preflight also gets the allowed
 *   methods and headers (the requested headers echoed);
 * - every OPTIONS response gets `Access-Control-Max-Age` (7200 s default);
 * - every response gets `Cross-Origin-Resource-Policy: cross-origin`, so a
 *   cross-origin-isolated page (COEP require-corp) may read it.
 * The exposed list covers every capability header the configuration
 * advertises, since a browser hides any response header not named there.
 */
import { ACCEPT_ENCODING_HEADER, CONTENT_ENCODING_HEADER, VGI_ACCEPT_ENCODING_HEADER, VGI_CONTENT_ENCODING_HEADER } from './encoding-negotiation.js';
import { type CapabilityConfig, type HeaderList, capabilityHeaders } from './capability-headers.js';
import { ACCEPT_MAX_RESPONSE_BYTES_HEADER } from './response-budget.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** Response header set on RPC errors rewritten to 200. */
export const RPC_ERROR_HEADER = 'X-VGI-RPC-Error';
/** 401 reason code header. */
export const AUTH_REASON_HEADER = 'VGI-Auth-Reason';
/** 401 header: authentication depends on headers a reverse proxy must inject. */
export const AUTH_PROXY_REQUIRED_HEADER = 'VGI-Auth-Proxy-Required';
/** Sticky-session token header (request and response). */
export const SESSION_HEADER = 'VGI-Session';
/** Request header: the client accepts a sticky session. */
export const SESSION_ACCEPT_HEADER = 'VGI-Session-Accept';
/** Response header: the session was closed. */
export const SESSION_CLOSE_HEADER = 'VGI-Session-Close';
/** Prefix of the sticky echo response headers (`VGI-Echo-<name>`). */
export const ECHO_HEADER_PREFIX = 'VGI-Echo-';
/** Proxy-proof request header. */
export const PROXY_PROOF_HEADER = 'VGI-Proxy-Proof';

/** Default `Access-Control-Max-Age` (the reference's): browsers stop re-preflighting every call. */
export const DEFAULT_CORS_MAX_AGE_SECONDS = 7200;

/** CORS configuration. */
export interface CorsConfig {
  /** Allowed origins: `*` for any, else exact (case-sensitive) origins. */
  readonly origins: '*' | readonly string[];
  /** `Access-Control-Max-Age` on OPTIONS responses; default 7200, null omits it. */
  readonly maxAgeSeconds?: number | null;
  /** `Cross-Origin-Resource-Policy` on every response; default `cross-origin`, null omits it. */
  readonly resourcePolicy?: string | null;
}

/** What else decides the exposed list besides the capability headers. */
export interface ExposeOptions {
  /** The service's authentication can answer 401 with `VGI-Auth-Proxy-Required`. */
  readonly authProxyHint?: boolean;
}

/**
 * Every response header a browser client must be able to read: the ones
 * that ride failures (`X-Request-ID`, `X-VGI-RPC-Error`, `VGI-Auth-Reason`,
 * `WWW-Authenticate`), the custom coding label, every capability header the
 * configuration advertises, and the sticky-session response headers.
 */
export const exposedHeaders = (capabilities: CapabilityConfig, options: ExposeOptions = {}): string[] => {
  const names = ['WWW-Authenticate', REQUEST_ID_HEADER, VGI_CONTENT_ENCODING_HEADER, RPC_ERROR_HEADER];
  for (const [name] of capabilityHeaders(capabilities)) names.push(name);
  names.push(AUTH_REASON_HEADER);
  if (options.authProxyHint === true) names.push(AUTH_PROXY_REQUIRED_HEADER);
  if (capabilities.sticky !== undefined) {
    names.push(SESSION_HEADER, SESSION_CLOSE_HEADER);
    for (const name of capabilities.sticky.echoHeaders ?? []) names.push(`${ECHO_HEADER_PREFIX}${name}`);
  }
  return names;
};

/** Request headers a preflight is granted when it names none: every header a VGI client sends. */
export const DEFAULT_ALLOWED_REQUEST_HEADERS: readonly string[] = [
  'Content-Type',
  'Authorization',
  CONTENT_ENCODING_HEADER,
  ACCEPT_ENCODING_HEADER,
  VGI_ACCEPT_ENCODING_HEADER,
  ACCEPT_MAX_RESPONSE_BYTES_HEADER,
  REQUEST_ID_HEADER,
  SESSION_HEADER,
  SESSION_ACCEPT_HEADER,
  PROXY_PROOF_HEADER,
];

/** A configuration's CORS rules, computed once. */
export interface CorsPolicy {
  readonly origins: '*' | ReadonlySet<string>;
  readonly exposeHeaders: string;
  readonly allowMethods: string;
  readonly maxAge: string | undefined;
  readonly resourcePolicy: string | undefined;
}

/** Build the CORS rules for a server (`DELETE` is allowed when sticky sessions are on, for `DELETE __session__`). */
export const corsPolicy = (cors: CorsConfig, capabilities: CapabilityConfig, options: ExposeOptions = {}): CorsPolicy => {
  const maxAge = cors.maxAgeSeconds === undefined ? DEFAULT_CORS_MAX_AGE_SECONDS : cors.maxAgeSeconds;
  const resourcePolicy = cors.resourcePolicy === undefined ? 'cross-origin' : cors.resourcePolicy;
  return {
    origins: cors.origins === '*' ? '*' : new Set(cors.origins),
    exposeHeaders: exposedHeaders(capabilities, options).join(', '),
    allowMethods: capabilities.sticky === undefined ? 'GET, HEAD, POST, OPTIONS' : 'GET, HEAD, POST, OPTIONS, DELETE',
    maxAge: maxAge === null ? undefined : String(maxAge),
    resourcePolicy: resourcePolicy === null ? undefined : resourcePolicy,
  };
};

/**
 * The CORS headers for one response. `headers` are the request's, with
 * lower-case names (as `HttpRequest.headers` has them); `method` is upper
 * case. A preflight is an OPTIONS request carrying
 * `Access-Control-Request-Method`.
 */
export const corsHeaders = (policy: CorsPolicy, method: string, headers: ReadonlyMap<string, string>): HeaderList => {
  const out: Array<readonly [string, string]> = [];
  const origin = headers.get('origin');
  const allowed = origin !== undefined && (policy.origins === '*' || policy.origins.has(origin));
  if (allowed) {
    if (policy.origins === '*') {
      out.push(['Access-Control-Allow-Origin', '*']);
    } else {
      out.push(['Access-Control-Allow-Origin', origin], ['Vary', 'Origin']);
    }
    out.push(['Access-Control-Expose-Headers', policy.exposeHeaders]);
    if (method === 'OPTIONS' && headers.has('access-control-request-method')) {
      const requested = headers.get('access-control-request-headers')?.trim();
      out.push(
        ['Access-Control-Allow-Methods', policy.allowMethods],
        ['Access-Control-Allow-Headers', requested !== undefined && requested !== '' ? requested : DEFAULT_ALLOWED_REQUEST_HEADERS.join(', ')],
      );
    }
  }
  if (method === 'OPTIONS' && policy.maxAge !== undefined) out.push(['Access-Control-Max-Age', policy.maxAge]);
  if (policy.resourcePolicy !== undefined) out.push(['Cross-Origin-Resource-Policy', policy.resourcePolicy]);
  return out;
};
