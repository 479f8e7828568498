import { describe, expect, it } from 'vitest';
import { type CapabilityConfig, OPTIONS_CACHE_CONTROL, capabilityHeaders } from '../../src/http/capability-headers.js';

const names = (config: CapabilityConfig): string[] => capabilityHeaders(config).map(([n]) => n);
const asMap = (config: CapabilityConfig): Map<string, string> => new Map(capabilityHeaders(config));

describe('capability headers', () => {
  it('a minimal server: encodings, externalization and budget support, nothing else', () => {
    expect(capabilityHeaders({ supportedEncodings: ['zstd', 'gzip'], externalizationEnabled: false })).toEqual([
      ['VGI-Externalization-Enabled', 'false'],
      ['VGI-Supported-Encodings', 'zstd, gzip'],
      ['VGI-Accept-Max-Response-Bytes-Support', 'true'],
    ]);
  });

  it('compression off is advertised as present-but-empty', () => {
    const headers = asMap({ supportedEncodings: [], externalizationEnabled: true });
    expect(headers.get('VGI-Supported-Encodings')).toBe('');
    expect(headers.get('VGI-Externalization-Enabled')).toBe('true');
  });

  it('every configured feature is advertised', () => {
    const headers = asMap({
      supportedEncodings: ['gzip'],
      externalizationEnabled: true,
      maxRequestBytes: 4096,
      maxResponseBytes: 1 << 20,
      maxExternalizedResponseBytes: 1 << 30,
      uploadUrl: { maxUploadBytes: 5_000_000 },
      proxyProofRequired: true,
      sticky: { defaultTtlSeconds: 300.9, echoHeaders: ['fly-force-instance-id', 'x-route'] },
    });
    expect(Object.fromEntries(headers)).toEqual({
      'VGI-Max-Request-Bytes': '4096',
      'VGI-Max-Response-Bytes': '1048576',
      'VGI-Max-Externalized-Response-Bytes': '1073741824',
      'VGI-Externalization-Enabled': 'true',
      'VGI-Upload-URL-Support': 'true',
      'VGI-Max-Upload-Bytes': '5000000',
      'VGI-Supported-Encodings': 'gzip',
      'VGI-Accept-Max-Response-Bytes-Support': 'true',
      'VGI-Proxy-Proof-Required': 'true',
      'VGI-Sticky-Enabled': 'true',
      'VGI-Sticky-Default-TTL': '300',
      'VGI-Sticky-Echo-Headers': 'fly-force-instance-id, x-route',
    });
  });

  it('conditional headers follow their conditions', () => {
    const base = { supportedEncodings: ['zstd'] as const, externalizationEnabled: false };
    expect(names({ ...base, uploadUrl: {} })).toContain('VGI-Upload-URL-Support');
    expect(names({ ...base, uploadUrl: {} })).not.toContain('VGI-Max-Upload-Bytes');
    expect(names({ ...base, proxyProofRequired: false })).not.toContain('VGI-Proxy-Proof-Required');
    expect(names({ ...base, sticky: { defaultTtlSeconds: 5 } })).not.toContain('VGI-Sticky-Echo-Headers');
    expect(names({ ...base, sticky: { defaultTtlSeconds: 5, echoHeaders: [] } })).not.toContain('VGI-Sticky-Echo-Headers');
    expect(names(base).some((n) => n.startsWith('VGI-Sticky') || n.startsWith('VGI-Max'))).toBe(false);
    expect(names(base)).not.toContain('VGI-Token-Introspection');
  });

  it('OPTIONS responses are cacheable for 5 minutes', () => {
    expect(OPTIONS_CACHE_CONTROL).toEqual(['Cache-Control', 'public, max-age=300']);
  });
});
