import { describe, expect, it } from 'vitest';
import type { CapabilityConfig } from '../../src/http/capability-headers.js';
import { capabilityHeaders } from '../../src/http/capability-headers.js';
import { corsHeaders, corsPolicy, exposedHeaders } from '../../src/http/cors-headers.js';

const ORIGIN = 'https://conformance.example';
const CAPS: CapabilityConfig = { supportedEncodings: ['zstd', 'gzip'], externalizationEnabled: true, uploadUrl: { maxUploadBytes: 1000 } };
const FULL: CapabilityConfig = {
  ...CAPS,
  maxRequestBytes: 4096,
  maxResponseBytes: 1 << 20,
  maxExternalizedResponseBytes: 1 << 22,
  proxyProofRequired: true,
  sticky: { defaultTtlSeconds: 60, echoHeaders: ['fly-force-instance-id'] },
};

const req = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));
const preflight = (extra: Record<string, string> = {}) => req({ origin: ORIGIN, 'access-control-request-method': 'POST', ...extra });
const lower = (list: string) => new Set(list.split(',').map((s) => s.trim().toLowerCase()));

describe('exposed headers', () => {
  it('cover every advertised capability header and the failure-path headers', () => {
    for (const caps of [CAPS, FULL]) {
      const exposed = new Set(exposedHeaders(caps));
      for (const [name] of capabilityHeaders(caps)) expect(exposed, name).toContain(name);
      for (const name of ['WWW-Authenticate', 'X-Request-ID', 'X-VGI-Content-Encoding', 'X-VGI-RPC-Error', 'VGI-Auth-Reason']) expect(exposed).toContain(name);
    }
  });

  it('add the session headers with sticky, the proxy note only when hinted', () => {
    expect(exposedHeaders(FULL)).toEqual(expect.arrayContaining(['VGI-Session', 'VGI-Session-Close', 'VGI-Echo-fly-force-instance-id']));
    expect(exposedHeaders(CAPS)).not.toContain('VGI-Session');
    expect(exposedHeaders(CAPS)).not.toContain('VGI-Auth-Proxy-Required');
    expect(exposedHeaders(CAPS, { authProxyHint: true })).toContain('VGI-Auth-Proxy-Required');
  });
});

describe('CORS headers', () => {
  const policy = corsPolicy({ origins: [ORIGIN] }, CAPS);

  it('a preflight from an allowed origin gets origin, methods, echoed headers, exposure, max age and CORP', () => {
    const h = new Map(corsHeaders(policy, 'OPTIONS', preflight({ 'access-control-request-headers': 'content-type, x-vgi-accept-encoding, vgi-session' })));
    expect(h.get('Access-Control-Allow-Origin')).toBe(ORIGIN);
    expect(h.get('Vary')).toBe('Origin');
    expect(lower(h.get('Access-Control-Allow-Methods')!)).toEqual(new Set(['get', 'head', 'post', 'options']));
    expect(h.get('Access-Control-Allow-Headers')).toBe('content-type, x-vgi-accept-encoding, vgi-session');
    expect(h.get('Access-Control-Max-Age')).toBe('7200');
    expect(h.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
    expect(h.get('Access-Control-Expose-Headers')).toBe(exposedHeaders(CAPS).join(', '));
  });

  it('a preflight naming no headers is granted every VGI request header', () => {
    const allowed = lower(new Map(corsHeaders(policy, 'OPTIONS', preflight())).get('Access-Control-Allow-Headers')!);
    for (const name of ['content-type', 'x-vgi-accept-encoding', 'vgi-session', 'vgi-session-accept', 'vgi-proxy-proof', 'vgi-accept-max-response-bytes', 'authorization']) {
      expect(allowed, name).toContain(name);
    }
  });

  it('the actual response carries the origin and exposure, not the preflight-only headers', () => {
    const h = new Map(corsHeaders(policy, 'POST', req({ origin: ORIGIN })));
    expect(h.get('Access-Control-Allow-Origin')).toBe(ORIGIN);
    expect(h.has('Access-Control-Expose-Headers')).toBe(true);
    expect(h.has('Access-Control-Allow-Methods')).toBe(false);
    expect(h.has('Access-Control-Max-Age')).toBe(false);
    expect(h.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
  });

  it('an unlisted or absent origin is not granted, the resource policy still applies', () => {
    for (const headers of [req({ origin: 'https://evil.example' }), req({ origin: ORIGIN.toUpperCase() }), req({})]) {
      const h = new Map(corsHeaders(policy, 'POST', headers));
      expect(h.has('Access-Control-Allow-Origin')).toBe(false);
      expect(h.has('Access-Control-Expose-Headers')).toBe(false);
      expect(h.get('Cross-Origin-Resource-Policy')).toBe('cross-origin');
    }
  });

  it('a wildcard policy answers * without Vary', () => {
    const h = new Map(corsHeaders(corsPolicy({ origins: '*' }, CAPS), 'POST', req({ origin: 'https://any.example' })));
    expect(h.get('Access-Control-Allow-Origin')).toBe('*');
    expect(h.has('Vary')).toBe(false);
  });

  it('max age and resource policy are configurable or omitted; sticky allows DELETE', () => {
    const custom = corsPolicy({ origins: [ORIGIN], maxAgeSeconds: 300, resourcePolicy: 'same-site' }, FULL);
    const h = new Map(corsHeaders(custom, 'OPTIONS', preflight()));
    expect(h.get('Access-Control-Max-Age')).toBe('300');
    expect(h.get('Cross-Origin-Resource-Policy')).toBe('same-site');
    expect(lower(h.get('Access-Control-Allow-Methods')!)).toContain('delete');
    const bare = new Map(corsHeaders(corsPolicy({ origins: [ORIGIN], maxAgeSeconds: null, resourcePolicy: null }, CAPS), 'OPTIONS', preflight()));
    expect(bare.has('Access-Control-Max-Age')).toBe(false);
    expect(bare.has('Cross-Origin-Resource-Policy')).toBe(false);
    expect(bare.get('Access-Control-Allow-Origin')).toBe(ORIGIN);
  });
});
