/**
 * The HTML pages the HTTP server answers on GET, laid out as the reference
 * draws them: the landing page (`GET {prefix}`), the describe page
 * (`GET {prefix}/describe`: every method with its badges, parameters, types,
 * defaults, doc and schemas) and the 404 page for any other GET. Each page
 * is one self-contained document (inline CSS, no fonts, images or scripts
 * fetched), and every value that comes from a service definition or the
 * request is HTML-escaped. `pageReply` is the routing rule the server
 * follows for a GET, so every engine answers these paths the same way.
 */
import type { FieldView, MethodView, PageModel, ProtocolView } from './page-model.js';

export { defaultText, normalisePrefix, pageModel } from './page-model.js';
export type { FieldView, MethodView, PageModel, PageOptions, ParamView, ProtocolView } from './page-model.js';

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));

const LEARN_MORE = 'https://vgi-rpc.query.farm';

/** The reference's palette and shapes, written out inline so a page needs nothing else. */
const BASE_STYLE = `
  body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto;
         color: #2c2c1e; background: #faf8f0; }
  h1 { color: #2d5016; margin-bottom: 8px; font-weight: 700; }
  code { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; background: #f0ece0;
         padding: 2px 6px; border-radius: 3px; font-size: 0.9em; color: #2c2c1e; }
  a { color: #2d5016; text-decoration: none; }
  a:hover { color: #4a7c23; }
  p { line-height: 1.7; color: #6b6b5a; }
  footer { margin-top: 48px; padding: 20px 0; border-top: 1px solid #f0ece0;
           color: #6b6b5a; font-size: 0.85em; line-height: 1.8; text-align: center; }
  footer a { color: #2d5016; font-weight: 600; }`;

const NARROW_STYLE = `
  body { max-width: 600px; padding: 60px 20px 0; text-align: center; }
  .links { margin-top: 28px; display: flex; flex-wrap: wrap; justify-content: center; gap: 8px; }
  .links a { display: inline-block; padding: 8px 18px; border-radius: 6px; border: 1px solid #4a7c23;
             color: #2d5016; font-weight: 600; font-size: 0.9em; }
  .links a:hover { background: #4a7c23; color: #fff; }
  .links a.primary { background: #2d5016; color: #fff; border-color: #2d5016; }
  .protocols code { margin: 0 2px; }
  .path { word-break: break-all; }`;

const DESCRIBE_STYLE = `
  body { max-width: 900px; padding: 40px 20px 0; }
  .header { text-align: center; margin-bottom: 40px; }
  .header h1 { margin-bottom: 4px; }
  .header .subtitle { font-size: 1.1em; margin-top: 0; }
  .header .meta { font-size: 0.9em; }
  h2 { color: #2d5016; font-size: 1.3em; margin: 36px 0 4px; }
  .protocol-meta { font-size: 0.85em; margin-top: 0; word-break: break-all; }
  .card { border: 1px solid #f0ece0; border-radius: 8px; padding: 20px; margin-bottom: 16px; background: #fff; }
  .card:hover { border-color: #c8a43a; }
  .card-header { display: flex; align-items: center; gap: 10px; margin-bottom: 12px; }
  .method-name { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.1em; font-weight: 600; color: #2d5016; }
  .badge { display: inline-block; padding: 2px 8px; border-radius: 4px; font-size: 0.75em; font-weight: 600;
           text-transform: uppercase; letter-spacing: 0.03em; }
  .badge-unary { background: #e8f5e0; color: #2d5016; }
  .badge-stream { background: #e0ecf5; color: #1a4a6b; }
  .badge-exchange { background: #f5e6f0; color: #6b234a; }
  .badge-producer { background: #e0f0f5; color: #1a5a6b; }
  .badge-header { background: #f5eee0; color: #6b4423; }
  .docstring { color: #6b6b5a; margin: 0 0 12px; line-height: 1.5; white-space: pre-line; }
  table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
  th { text-align: left; padding: 8px 10px; background: #f0ece0; font-weight: 600; border-bottom: 2px solid #e0dcd0; }
  td { padding: 8px 10px; border-bottom: 1px solid #f0ece0; }
  td code { font-size: 0.85em; }
  th:first-child, td:first-child { width: 30%; }
  .none { color: #6b6b5a; }
  .no-params { color: #6b6b5a; font-style: italic; font-size: 0.9em; }
  .section-label { font-size: 0.8em; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em;
                   color: #6b6b5a; margin-top: 14px; margin-bottom: 6px; }`;

const htmlDocument = (title: string, style: string, body: string): string => `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${BASE_STYLE}${style}
</style>
</head>
<body>
${body}
</body>
</html>
`;

const poweredBy = (m: PageModel): string =>
  `Powered by <code>vgi-rpc</code>${m.softwareVersion === undefined ? '' : ` v${escapeHtml(m.softwareVersion)}`} &middot; server <code>${escapeHtml(m.serverId)}</code>`;

const protocolLabel = (p: ProtocolView): string =>
  `<code>${escapeHtml(p.name)}</code>${p.version === undefined ? '' : ` v${escapeHtml(p.version)}`}`;

/** The landing page (`GET {prefix}`): the primary protocol, what else is hosted, and links. */
export const landingPage = (m: PageModel): string => {
  const links = [
    m.describePath === undefined ? '' : `<a class="primary" href="${escapeHtml(m.describePath)}">View service API</a>`,
    m.repoUrl === undefined ? '' : `<a href="${escapeHtml(m.repoUrl)}">Source repository</a>`,
    `<a href="${LEARN_MORE}">Learn more about <code>vgi-rpc</code></a>`,
  ].filter((l) => l !== '');
  return htmlDocument(
    `${escapeHtml(m.primary)} &mdash; vgi-rpc`,
    NARROW_STYLE,
    `<h1>${escapeHtml(m.primary)}</h1>
<p>This is a <code>vgi-rpc</code> service endpoint.</p>
<p class="protocols">Hosted protocols: ${m.protocols.map(protocolLabel).join(' &middot; ')}</p>
<div class="links">
${links.join('\n')}
</div>
<footer>${poweredBy(m)}</footer>`,
  );
};

const fieldTable = (label: string, fields: readonly FieldView[]): string =>
  fields.length === 0
    ? ''
    : `<div class="section-label">${label}</div>
<table><tr><th>Name</th><th>Type</th></tr>
${fields.map((f) => `<tr><td><code>${escapeHtml(f.name)}</code></td><td><code>${escapeHtml(f.type)}</code></td></tr>`).join('\n')}
</table>`;

const methodCard = (protocol: string, md: MethodView): string => {
  const badges = [`<span class="badge badge-${md.type}">${md.type}</span>`];
  if (md.streamKind !== '') badges.push(`<span class="badge badge-${md.streamKind}">${md.streamKind}</span>`);
  if (md.header.length > 0) badges.push('<span class="badge badge-header">header</span>');
  const params =
    md.params.length === 0
      ? '<p class="no-params">No parameters</p>'
      : `<div class="section-label">Parameters</div>
<table><tr><th>Name</th><th>Type</th><th>Default</th></tr>
${md.params
  .map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td><code>${escapeHtml(p.type)}</code></td><td>${
        p.default === undefined ? '<span class="none">&mdash;</span>' : `<code>${escapeHtml(p.default)}</code>`
      }</td></tr>`,
  )
  .join('\n')}
</table>`;
  return [
    `<div class="card" id="${escapeHtml(`${protocol}.${md.name}`)}">`,
    `<div class="card-header">`,
    `<span class="method-name">${escapeHtml(md.name)}</span>`,
    ...badges,
    '</div>',
    md.doc === undefined ? '' : `<p class="docstring">${escapeHtml(md.doc)}</p>`,
    params,
    fieldTable('Returns', md.result),
    fieldTable('Stream Header', md.header),
    fieldTable('Stream Input', md.input),
    fieldTable('Stream Output', md.output),
    '</div>',
  ]
    .filter((l) => l !== '')
    .join('\n');
};

const protocolSection = (p: ProtocolView): string => {
  const meta = [
    p.version === undefined ? 'no protocol version' : `version <code>${escapeHtml(p.version)}</code>`,
    `hash <code>${escapeHtml(p.hash)}</code>`,
    `${p.methods.length} method${p.methods.length === 1 ? '' : 's'}`,
  ].join(' &middot; ');
  return `<section class="protocol" id="${escapeHtml(p.name)}">
<h2>${escapeHtml(p.name)}</h2>
<p class="protocol-meta">${meta}</p>
${p.methods.map((md) => methodCard(p.name, md)).join('\n')}
</section>`;
};

/**
 * The describe page (`GET {prefix}/describe`): one section per hosted
 * application protocol with a card per method. Framework protocols (the
 * successors of the reference's hidden `__describe__`) are only named.
 */
export const describePage = (m: PageModel): string => {
  const apps = m.protocols.filter((p) => !p.framework);
  const framework = m.protocols.filter((p) => p.framework);
  const repo = m.repoUrl === undefined ? '' : ` &middot; <a href="${escapeHtml(m.repoUrl)}">Source repository</a>`;
  return htmlDocument(
    `${escapeHtml(m.primary)} API Reference &mdash; vgi-rpc`,
    DESCRIBE_STYLE,
    `<div class="header">
<h1>${escapeHtml(m.primary)}</h1>
<p class="subtitle">API Reference</p>
<p class="meta">${poweredBy(m)}${repo}</p>
</div>
${apps.map(protocolSection).join('\n')}
${framework.length === 0 ? '' : `<p class="framework">Framework protocols also hosted: ${framework.map(protocolLabel).join(' &middot; ')}</p>`}
<footer><a href="${escapeHtml(m.landingPath)}">Service home</a> &middot; <a href="${LEARN_MORE}">Learn more about <code>vgi-rpc</code></a></footer>`,
  );
};

/** Longest request path a 404 page repeats; the rest is elided. */
const MAX_SHOWN_PATH = 200;

/** The 404 page for a GET of any other path; it names the path that was asked for. */
export const notFoundPage = (m: PageModel, path: string): string => {
  const shown = path.length > MAX_SHOWN_PATH ? `${path.slice(0, MAX_SHOWN_PATH)}\u2026` : path;
  const links = [`<a href="${escapeHtml(m.landingPath)}">Service home</a>`];
  if (m.describePath !== undefined) links.push(`<a href="${escapeHtml(m.describePath)}">View service API</a>`);
  return htmlDocument(
    '404 &mdash; vgi-rpc',
    NARROW_STYLE,
    `<h1>404 &mdash; Not Found</h1>
<p class="path">Nothing is served at <code>${escapeHtml(shown)}</code>.</p>
<p>This is a <code>vgi-rpc</code> service endpoint${m.primary === '' ? '' : ` serving <strong>${escapeHtml(m.primary)}</strong>`}.</p>
<p>RPC methods are available under <code>${escapeHtml(m.prefix)}/&lt;protocol&gt;/&lt;method&gt;</code>.</p>
<div class="links">
${links.join('\n')}
</div>
<footer>Powered by <a href="${LEARN_MORE}"><code>vgi-rpc</code></a></footer>`,
  );
};

/** A page answer: status, headers and the HTML. */
export interface PageReply {
  readonly status: 200 | 404;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

/** The pages of one server, the landing and describe pages rendered once. */
export interface RenderedPages {
  readonly model: PageModel;
  readonly landing: string;
  readonly describe: string | undefined;
}

/** Render the fixed pages once (the reference pre-renders them too); the 404 is rendered per path. */
export const renderPages = (model: PageModel): RenderedPages => ({
  model,
  landing: landingPage(model),
  describe: model.describePath === undefined ? undefined : describePage(model),
});

/** Content type of every page. */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/** The reference keeps browsers and proxies from caching the landing and describe pages. */
const NO_CACHE = 'no-cache, no-store, must-revalidate, max-age=0';

/**
 * The answer to `GET path` once no other GET route (health, OAuth,
 * .well-known) claimed it: the landing page at `{prefix}` and `{prefix}/`
 * (`/` with no prefix), the describe page at `{prefix}/describe` when it is
 * served, else the 404 page naming the path. Runs of `/` are collapsed first,
 * as for RPC routes.
 */
export const pageReply = (pages: RenderedPages, path: string): PageReply => {
  const p = path.replace(/\/{2,}/g, '/');
  const { prefix } = pages.model;
  if (p === prefix || p === `${prefix}/`) {
    return { status: 200, headers: [['Content-Type', HTML_CONTENT_TYPE], ['Cache-Control', NO_CACHE]], body: pages.landing };
  }
  if (pages.describe !== undefined && p === pages.model.describePath) {
    return { status: 200, headers: [['Content-Type', HTML_CONTENT_TYPE], ['Cache-Control', NO_CACHE]], body: pages.describe };
  }
  return { status: 404, headers: [['Content-Type', HTML_CONTENT_TYPE]], body: notFoundPage(pages.model, path) };
};
