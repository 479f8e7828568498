import * as A from 'apache-arrow';
import * as Effect from 'effect/Effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { Method, Service, T } from '../../src/index.js';
import type { Hosting } from '../../src/protocol/hosting.js';
import { arrowTypeText } from '../../src/http/arrow-type-text.js';
import { defaultText, describePage, landingPage, notFoundPage, pageModel, pageReply, renderPages } from '../../src/http/pages.js';
import { conformanceHosting } from '../../examples/conformance/hosting.js';

const disposers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of disposers) await d();
});

const hostingOf = async (...args: Parameters<typeof makeDispatcher>): Promise<Hosting> => {
  const { dispatcher, dispose } = await makeDispatcher(...args);
  disposers.push(dispose);
  return dispatcher.hosting;
};

/** The text a page shows, tags dropped and the few entities it uses decoded. */
const visibleText = (html: string): string =>
  html
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&mdash;/g, '\u2014')
    .replace(/&middot;/g, '\u00b7')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('page model of the conformance services', () => {
  let hosting: Hosting;
  beforeAll(async () => {
    const { services, layer } = conformanceHosting(90);
    hosting = await hostingOf(services, layer, { serverId: 'pages-unit' });
  });

  it('lists every hosted protocol, applications first, with version and hash', () => {
    const m = pageModel(hosting);
    expect(m.primary).toBe('ConformanceService');
    expect(m.serverId).toBe('pages-unit');
    expect(m.protocols.map((p) => [p.name, p.version, p.framework])).toEqual([
      ['ConformanceService', '2.0.0', false],
      ['conformance.Secondary.v1', undefined, false],
      ['vgi_rpc.Reflection.v1', undefined, true],
    ]);
    for (const p of m.protocols) expect(p.hash).toBe(hosting.bindings.get(p.name)!.hash);
    const names = m.protocols[0]!.methods.map((x) => x.name);
    expect(names).toEqual([...names].sort());
    expect(names).toHaveLength(hosting.bindings.get('ConformanceService')!.methods.size);
  });

  it('describes parameters with pyarrow types and Python defaults, and each kind of method', () => {
    const methods = new Map(pageModel(hosting).protocols[0]!.methods.map((x) => [x.name, x]));
    const concatenate = methods.get('concatenate')!;
    expect(concatenate.type).toBe('unary');
    expect(concatenate.doc).toBe('Join prefix and suffix with the separator.');
    expect(concatenate.params).toEqual([
      { name: 'prefix', type: 'string', default: undefined },
      { name: 'suffix', type: 'string', default: undefined },
      { name: 'separator', type: 'string', default: "'-'" },
    ]);
    expect(concatenate.result).toEqual([{ name: 'result', type: 'string' }]);
    expect(methods.get('with_defaults')!.params.map((p) => p.default)).toEqual([undefined, "'default'", '42']);
    expect(methods.get('add_floats')!.params.map((p) => p.type)).toEqual(['double', 'double']);
    const header = methods.get('produce_with_header')!;
    expect([header.type, header.streamKind]).toEqual(['stream', 'producer']);
    expect(header.header.map((f) => f.name)).toEqual(['total_expected', 'description']);
    expect(header.output).toEqual([{ name: 'index', type: 'int64' }, { name: 'value', type: 'int64' }]);
    const scale = methods.get('exchange_scale')!;
    expect([scale.type, scale.streamKind]).toEqual(['stream', 'exchange']);
    expect(scale.input).toEqual([{ name: 'value', type: 'double' }]);
    expect(scale.header).toEqual([]);
  });

  it('serves the describe page only while Reflection is hosted, and honours the option', async () => {
    expect(pageModel(hosting).describePath).toBe('/describe');
    expect(pageModel(hosting, { describePage: false }).describePath).toBeUndefined();
    const { services, layer } = conformanceHosting(90);
    const bare = await hostingOf(services, layer, { reflection: false });
    expect(pageModel(bare).describePath).toBeUndefined();
    expect(landingPage(pageModel(bare))).not.toContain('/describe');
    expect(pageReply(renderPages(pageModel(bare)), '/describe').status).toBe(404);
  });

  it('draws the describe page with badges, parameter rows, defaults and docs', () => {
    const html = describePage(pageModel(hosting));
    const text = visibleText(html);
    expect(html).toContain('<title>ConformanceService API Reference &mdash; vgi-rpc</title>');
    expect(text).toContain("separator string '-'");
    expect(text).toContain('optional_int int64 42');
    expect(text).toContain('Join prefix and suffix with the separator.');
    expect(html).toMatch(/<span class="method-name">concatenate<\/span>\n<span class="badge badge-unary">unary<\/span>/);
    expect(html).toMatch(/<span class="method-name">produce_with_header<\/span>\n<span class="badge badge-stream">stream<\/span>\n<span class="badge badge-producer">producer<\/span>\n<span class="badge badge-header">header<\/span>/);
    expect(text).toContain(hosting.bindings.get('ConformanceService')!.hash);
    expect(text).toContain('conformance.Secondary.v1');
    // Reflection is named, its methods are not drawn.
    expect(text).toContain('Framework protocols also hosted: vgi_rpc.Reflection.v1');
    expect(html).not.toContain('list_protocols');
  });
});

describe('escaping', () => {
  const Hostile = Service.define('Hostile', {}, {
    shout: Method.unary({
      params: { text: T.utf8, times: T.int64 },
      defaults: { text: "</code><script>alert('default')</script>" },
      doc: '<script>alert("doc")</script> & <b>bold</b>',
      result: T.utf8,
    }),
  });
  let hosting: Hosting;
  beforeAll(async () => {
    hosting = await hostingOf([Hostile], Hostile.toLayer({ shout: ({ text }) => Effect.succeed(text) }), { serverId: '<img src=x onerror=alert(1)>' });
  });

  it('escapes method docs, defaults and the server id', () => {
    const m = pageModel(hosting, { repoUrl: 'https://example.com/?a=1&b="2"' });
    for (const html of [landingPage(m), describePage(m), notFoundPage(m, '/x')]) expect(html).not.toMatch(/<script|<img|<b>/i);
    for (const html of [landingPage(m), describePage(m)]) expect(html).toContain('<code>&lt;img src=x onerror=alert(1)&gt;</code>');
    const describe = describePage(m);
    expect(describe).toContain('&lt;script&gt;alert(&quot;doc&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(describe).toContain('&quot;&lt;/code&gt;&lt;script&gt;alert(&#39;default&#39;)&lt;/script&gt;&quot;');
    expect(describe).toContain('href="https://example.com/?a=1&amp;b=&quot;2&quot;"');
  });

  it('escapes and names the requested path on the 404 page', () => {
    const m = pageModel(hosting);
    const html = notFoundPage(m, '/"><script>alert(1)</script>');
    expect(html).not.toContain('<script');
    expect(html).toContain('<code>/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    const long = notFoundPage(m, `/${'a'.repeat(5000)}`);
    expect(long.length).toBeLessThan(notFoundPage(m, '/').length + 400);
  });
});

describe('which page a GET path gets', () => {
  let hosting: Hosting;
  beforeAll(async () => {
    const { services, layer } = conformanceHosting(90);
    hosting = await hostingOf(services, layer);
  });

  it('answers the landing page at the root and the describe page beside it', () => {
    const pages = renderPages(pageModel(hosting));
    for (const path of ['/', '//']) {
      const r = pageReply(pages, path);
      expect(r.status).toBe(200);
      expect(r.body).toBe(pages.landing);
    }
    const d = pageReply(pages, '/describe');
    expect(d.status).toBe(200);
    expect(d.body).toBe(pages.describe);
    expect(new Map(d.headers)).toEqual(new Map([['Content-Type', 'text/html; charset=utf-8'], ['Cache-Control', 'no-cache, no-store, must-revalidate, max-age=0']]));
    const nf = pageReply(pages, '/ConformanceService');
    expect(nf.status).toBe(404);
    expect(new Map(nf.headers).get('Content-Type')).toBe('text/html; charset=utf-8');
    expect(visibleText(nf.body)).toContain('Nothing is served at /ConformanceService .');
  });

  it('fetches nothing: no scripts, stylesheets, images or fonts from anywhere', () => {
    const m = pageModel(hosting, { repoUrl: 'https://example.com/src' });
    for (const html of [landingPage(m), describePage(m), notFoundPage(m, '/nope')]) {
      expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
      expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    }
  });

  it('keeps every page under the prefix and links with it', () => {
    const pages = renderPages(pageModel(hosting, { prefix: '/vgi/' }));
    expect(pages.model.prefix).toBe('/vgi');
    expect(pageReply(pages, '/vgi').status).toBe(200);
    expect(pageReply(pages, '/vgi/').status).toBe(200);
    expect(pageReply(pages, '/vgi/describe').body).toBe(pages.describe);
    expect(pageReply(pages, '/').status).toBe(404);
    expect(pageReply(pages, '/describe').status).toBe(404);
    expect(pages.landing).toContain('<a class="primary" href="/vgi/describe">View service API</a>');
    expect(pageReply(pages, '/elsewhere').body).toContain('<code>/vgi/&lt;protocol&gt;/&lt;method&gt;</code>');
    expect(() => pageModel(hosting, { prefix: 'vgi' })).toThrow(TypeError);
  });
});

describe('spelling of types and defaults', () => {
  it('spells Arrow types as pyarrow prints them', () => {
    expect(arrowTypeText(new A.Int64())).toBe('int64');
    expect(arrowTypeText(new A.Uint8())).toBe('uint8');
    expect(arrowTypeText(new A.Float32())).toBe('float');
    expect(arrowTypeText(new A.Float64())).toBe('double');
    expect(arrowTypeText(new A.Utf8())).toBe('string');
    expect(arrowTypeText(new A.Bool())).toBe('bool');
    expect(arrowTypeText(T.timestampUsTz().arrowType)).toBe('timestamp[us, tz=UTC]');
    expect(arrowTypeText(T.date32.arrowType)).toBe('date32[day]');
    expect(arrowTypeText(T.decimal128(10, 2).arrowType)).toBe('decimal128(10, 2)');
    expect(arrowTypeText(T.list(T.utf8).arrowType)).toMatch(/^list<item: string( not null)?>$/);
    expect(arrowTypeText(T.dictionaryString.arrowType)).toBe('dictionary<values=string, indices=int16, ordered=0>');
    expect(arrowTypeText(T.map(T.utf8, T.int64).arrowType)).toBe('map<string, int64>');
    expect(arrowTypeText(T.fixedSizeBinary(8).arrowType)).toBe('fixed_size_binary[8]');
  });

  it('prints defaults as Python repr', () => {
    expect(defaultText('it\'s')).toBe('"it\'s"');
    expect(defaultText(1, new A.Float64())).toBe('1.0');
    expect(defaultText(1e16, new A.Float64())).toBe('1e+16');
    expect(defaultText(3, new A.Int32())).toBe('3');
    expect(defaultText(42n)).toBe('42');
    expect(defaultText(true)).toBe('True');
    expect(defaultText(null)).toBe('None');
    expect(defaultText(new Uint8Array([0x61, 0, 0x27]))).toBe('b"a\\x00\'"');
    expect(defaultText([1, 2], T.list(T.float64).arrowType)).toBe('[1.0, 2.0]');
    expect(defaultText(new Map([['k', 1n]]), T.map(T.utf8, T.int64).arrowType)).toBe("{'k': 1}");
    expect(defaultText(new Set())).toBe('frozenset()');
  });
});
