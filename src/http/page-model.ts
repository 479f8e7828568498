/**
 * What the HTML pages show, derived once from the hosted protocols: the
 * server, its protocols and, per method, the kind, parameters (pyarrow type
 * names and Python-style defaults), doc and schemas. The pages are rendered
 * from this plain data (src/http/pages.ts), so rendering knows nothing of
 * method definitions and a test can build a model by hand.
 */
import { type DataType, type Field, type Schema, Type } from 'apache-arrow';
import type { Hosting } from '../protocol/hosting.js';
import { pyFloatRepr, pyRepr } from '../protocol/py-repr.js';
import type { MethodDef } from '../service/method.js';
import { arrowTypeText } from './arrow-type-text.js';

/** One column of a schema as a page shows it. */
export interface FieldView {
  readonly name: string;
  /** pyarrow spelling of the type (`int64`, `string`, `list<item: double>`). */
  readonly type: string;
}

/** One parameter: its column, and its default as Python would print it (`'-'`, `42`, `1.5`), if it has one. */
export interface ParamView extends FieldView {
  readonly default: string | undefined;
}

/** One method as the describe page shows it. */
export interface MethodView {
  readonly name: string;
  /** The reference's method type: its badge reads UNARY or STREAM. */
  readonly type: 'unary' | 'stream';
  /** For streams, which kind (a second badge); `''` for unary methods. */
  readonly streamKind: '' | 'producer' | 'exchange';
  readonly doc: string | undefined;
  readonly params: readonly ParamView[];
  /** Unary result columns (empty for a void method and for streams). */
  readonly result: readonly FieldView[];
  /** Stream header columns (empty when the method declares no header). */
  readonly header: readonly FieldView[];
  /** Exchange input columns (empty for producers and unary methods). */
  readonly input: readonly FieldView[];
  /** Declared stream output columns (empty for unary methods). */
  readonly output: readonly FieldView[];
}

/** One hosted protocol. */
export interface ProtocolView {
  readonly name: string;
  /** Declared protocol_version, if any. */
  readonly version: string | undefined;
  /** The canonical protocol hash (64 hex). */
  readonly hash: string;
  /** A framework protocol (`vgi_rpc.` prefix, e.g. Reflection): listed, but its methods are not drawn. */
  readonly framework: boolean;
  /** Methods sorted by name, as Reflection lists them. */
  readonly methods: readonly MethodView[];
}

/** Everything the landing, describe and 404 pages show. */
export interface PageModel {
  /** URL prefix of every route: `''` (the default) or `/something`, never ending in `/`. */
  readonly prefix: string;
  readonly serverId: string;
  /** The protocol the pages are titled with: the first hosted application protocol. */
  readonly primary: string;
  /** Hosted protocols in listing order (applications first, then framework protocols). */
  readonly protocols: readonly ProtocolView[];
  /** Where the landing page lives: `{prefix}`, or `/` when the prefix is empty. */
  readonly landingPath: string;
  /** Where the describe page lives (`{prefix}/describe`), or undefined when it is not served. */
  readonly describePath: string | undefined;
  /** Link to the service's source, shown when given. */
  readonly repoUrl: string | undefined;
  /** Version of this software, printed as `vgi-rpc vX` when given. */
  readonly softwareVersion: string | undefined;
}

/** Options of the pages. */
export interface PageOptions {
  /** URL prefix of the server's routes (default `''`); trailing slashes are dropped. */
  readonly prefix?: string;
  /**
   * Serve the describe page (default true). As in the reference, it is
   * served only while introspection is: a server that hosts no Reflection
   * does not publish its API as a page either.
   */
  readonly describePage?: boolean;
  readonly repoUrl?: string;
  readonly softwareVersion?: string;
}

const FRAMEWORK_PREFIX = 'vgi_rpc.';

const fieldsOf = (schema: Schema | undefined): FieldView[] =>
  schema === undefined ? [] : schema.fields.map((f) => ({ name: f.name, type: arrowTypeText(f.type) }));

/** Python `repr(bytes)`: `b'ab\x00'`. */
const bytesRepr = (b: Uint8Array): string => {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = '';
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c === quote.charCodeAt(0)) out += `\\${quote}`;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `b${quote}${out}${quote}`;
};

const childType = (t: DataType | undefined, i: number): DataType | undefined => t?.children[i]?.type;

/**
 * A default value as the reference's page printed it, Python's `repr`:
 * `'text'`, `42`, `1.0`, `True`, `None`, `[1, 2]`, `{'k': 1}`. The Arrow
 * type tells a float `1.0` from an integer `1`.
 */
export const defaultText = (v: unknown, t?: DataType): string => {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return t?.typeId === Type.Float || !Number.isInteger(v) ? pyFloatRepr(v) : String(v);
  if (typeof v === 'string') return pyRepr(v);
  if (v instanceof Uint8Array) return bytesRepr(v);
  if (v instanceof Date) return pyRepr(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => defaultText(x, childType(t, 0))).join(', ')}]`;
  if (v instanceof Set) return v.size === 0 ? 'frozenset()' : `frozenset({${[...v].map((x) => defaultText(x, childType(t, 0))).join(', ')}})`;
  if (v instanceof Map) {
    const entries = t?.children[0]?.type;
    return `{${[...v].map(([k, x]) => `${defaultText(k, childType(entries, 0))}: ${defaultText(x, childType(entries, 1))}`).join(', ')}}`;
  }
  if (typeof v === 'object') {
    const fields = new Map<string, Field>((t?.children ?? []).map((f) => [f.name, f]));
    return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${defaultText(x, fields.get(k)?.type)}`).join(', ')}}`;
  }
  return pyRepr(String(v));
};

const methodView = (name: string, m: MethodDef): MethodView => {
  const defaults = m.defaults as Readonly<Record<string, unknown>>;
  const params: ParamView[] = m.paramsSchema.fields.map((f) => ({
    name: f.name,
    type: arrowTypeText(f.type),
    default: Object.prototype.hasOwnProperty.call(defaults, f.name) ? defaultText(defaults[f.name], f.type) : undefined,
  }));
  const doc = m.doc === undefined || m.doc.trim() === '' ? undefined : m.doc.trim();
  if (m.kind === 'unary') {
    return { name, type: 'unary', streamKind: '', doc, params, result: fieldsOf(m.resultSchema), header: [], input: [], output: [] };
  }
  return {
    name,
    type: 'stream',
    streamKind: m.kind,
    doc,
    params,
    result: [],
    header: fieldsOf(m.headerSchema),
    input: m.kind === 'exchange' ? fieldsOf(m.inputSchema) : [],
    output: fieldsOf(m.outputSchema),
  };
};

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Normalise a route prefix: `''` or `/x`, no trailing slash. */
export const normalisePrefix = (prefix: string): string => {
  const p = prefix.replace(/\/+$/, '');
  if (p !== '' && !p.startsWith('/')) throw new TypeError(`an HTTP prefix must start with '/', got ${JSON.stringify(prefix)}`);
  return p;
};

/** The page model of a server hosting `hosting`. */
export const pageModel = (hosting: Hosting, options: PageOptions = {}): PageModel => {
  const prefix = normalisePrefix(options.prefix ?? '');
  const protocols: ProtocolView[] = [...hosting.bindings.values()].map((b) => ({
    name: b.name,
    version: b.version,
    hash: b.hash,
    framework: b.name.startsWith(FRAMEWORK_PREFIX),
    methods: [...b.methods].sort(([x], [y]) => byName(x, y)).map(([n, m]) => methodView(n, m)),
  }));
  // Applications are listed before framework protocols, so the primary is the first of them.
  const primary = protocols.find((p) => !p.framework)?.name ?? protocols[0]?.name ?? '';
  const describe = (options.describePage ?? true) && hosting.hasReflection;
  return {
    prefix,
    serverId: hosting.serverId,
    primary,
    protocols,
    landingPath: prefix === '' ? '/' : prefix,
    describePath: describe ? `${prefix}/describe` : undefined,
    repoUrl: options.repoUrl,
    softwareVersion: options.softwareVersion,
  };
};
