/**
 * What the HTTP front end needs beyond the workers' settings, as plain data
 * (it crosses threads when each worker runs its own front end), and the
 * response stamps built from it: capability headers and CORS.
 */
import { type CapabilityConfig, capabilityHeaders } from '../../src/http/capability-headers.js';
import { corsHeaders, corsPolicy } from '../../src/http/cors-headers.js';
import type { PageReply } from '../../src/http/pages.js';
import type { HttpReply } from './engine.js';
import type { ResponseStamps } from './front-end.js';
import type { CorsOptions, HttpOptions, HttpSettings } from './http-config.js';

/** Where the readiness probe answers unless `readinessPath` says otherwise. */
export const DEFAULT_READINESS_PATH = '/readyz';

/** The front end's configuration, plain data. */
export interface FrontEndSettings {
  readonly serverId: string;
  /** The primary protocol's name (in the health body). */
  readonly protocol: string;
  readonly readinessPath: string;
  /** Serve the HTML pages on GET. */
  readonly pages: boolean;
  /** Answer the test drain switch (`/__test_drain__`). */
  readonly testDrain: boolean;
  readonly cors?: CorsOptions;
  readonly maxExternalizedResponseBytes?: number;
}

/** The front-end settings of `options`. */
export const frontEndSettingsOf = (options: HttpOptions, serverId: string, protocol: string): FrontEndSettings => ({
  serverId,
  protocol,
  readinessPath: options.readinessPath ?? DEFAULT_READINESS_PATH,
  pages: options.pages !== false,
  testDrain: options.testDrainEndpoint === true,
  ...(options.cors === undefined ? {} : { cors: options.cors }),
  ...(options.maxExternalizedResponseBytes === undefined ? {} : { maxExternalizedResponseBytes: options.maxExternalizedResponseBytes }),
});

/** The capability and CORS headers every response carries. */
export const responseStamps = (settings: HttpSettings, front: FrontEndSettings): ResponseStamps => {
  const capabilityConfig: CapabilityConfig = {
    supportedEncodings: settings.responseCodecs,
    externalizationEnabled: false,
    ...(settings.maxRequestBytes === undefined ? {} : { maxRequestBytes: settings.maxRequestBytes }),
    ...(settings.maxResponseBytes === undefined ? {} : { maxResponseBytes: settings.maxResponseBytes }),
    ...(front.maxExternalizedResponseBytes === undefined ? {} : { maxExternalizedResponseBytes: front.maxExternalizedResponseBytes }),
    ...(settings.sticky === undefined ? {} : {
      sticky: { defaultTtlSeconds: settings.sticky.defaultTtlSeconds, echoHeaders: settings.sticky.echoHeaders.map(([name]) => name) },
    }),
  };
  const cors = front.cors === undefined ? undefined : corsPolicy({
    origins: front.cors.origins === '*' ? '*' : front.cors.origins.split(',').map((o) => o.trim()),
    ...(front.cors.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: front.cors.maxAgeSeconds }),
  }, capabilityConfig);
  return {
    capabilities: capabilityHeaders(capabilityConfig),
    cors: (method, headers) => (cors === undefined ? [] : corsHeaders(cors, method, headers)),
  };
};

/** A rendered page as the engine's reply. */
export const pageHttpReply = (r: PageReply): HttpReply => ({ status: r.status, headers: r.headers, body: [new TextEncoder().encode(r.body)] });
