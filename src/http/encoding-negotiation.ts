/**
 * Which content coding a response uses, and what a request's
 * `Content-Encoding` says. Pure JS (the codecs themselves are in
 * transports/http/body-codecs.ts).
 *
 * Two request headers state what a client can decode: VGI's own
 * `X-VGI-Accept-Encoding` (the only one a browser's fetch can set, and not
 * rewritten by HTTP stacks that inject `Accept-Encoding: deflate, gzip, br,
 * zstd`) and the standard `Accept-Encoding`. The server walks the custom list
 * first, then the standard entries not already seen; q-values are dropped,
 * not honoured; `identity` ends the walk with an uncompressed body; the first
 * codec the server can produce wins. A codec offered only through the custom
 * header is labelled `X-VGI-Content-Encoding`, so a fetch layer does not
 * undo (or double-decode) it; otherwise `Content-Encoding`.
 */

/** Codecs that compress. The order is the server's own preference (what it advertises). */
export const COMPRESSION_CODECS = ['zstd', 'gzip'] as const;

/** A codec that compresses: `zstd` or `gzip`. */
export type CompressionCodec = (typeof COMPRESSION_CODECS)[number];

/** A token of an accept-encoding list this protocol knows: a codec, or `identity` (send it uncompressed). */
export type AcceptedEncoding = CompressionCodec | 'identity';

/** The standard request header. */
export const ACCEPT_ENCODING_HEADER = 'Accept-Encoding';
/** VGI's own request header, settable from a browser. */
export const VGI_ACCEPT_ENCODING_HEADER = 'X-VGI-Accept-Encoding';
/** The standard response/request coding header. */
export const CONTENT_ENCODING_HEADER = 'Content-Encoding';
/** The response coding header used when the codec was offered only through {@link VGI_ACCEPT_ENCODING_HEADER}. */
export const VGI_CONTENT_ENCODING_HEADER = 'X-VGI-Content-Encoding';

const KNOWN: ReadonlySet<string> = new Set<string>([...COMPRESSION_CODECS, 'identity']);

/**
 * Parse an accept-encoding style value into the known tokens, in order,
 * without repeats. Unknown tokens (`br`, `deflate`, `*`) are skipped and
 * `;q=` parameters dropped; case and surrounding whitespace are ignored.
 */
export const parseEncodingList = (value: string | undefined): AcceptedEncoding[] => {
  const out: AcceptedEncoding[] = [];
  if (value === undefined) return out;
  for (const item of value.split(',')) {
    const token = item.split(';', 1)[0]!.trim().toLowerCase();
    if (KNOWN.has(token) && !out.includes(token as AcceptedEncoding)) out.push(token as AcceptedEncoding);
  }
  return out;
};

/** The coding chosen for a response body. */
export interface ResponseEncoding {
  readonly codec: CompressionCodec;
  /** The response header that names the codec. */
  readonly header: typeof CONTENT_ENCODING_HEADER | typeof VGI_CONTENT_ENCODING_HEADER;
}

/**
 * Pick the response coding from the two accept headers (`accept` =
 * `Accept-Encoding`, `vgiAccept` = `X-VGI-Accept-Encoding`, raw values) and
 * what this server can produce right now (empty when response compression is
 * off). Undefined means an uncompressed body with no coding header: the
 * client asked for `identity` first, or nothing it offered is producible.
 */
export const negotiateResponseEncoding = (
  accept: string | undefined,
  vgiAccept: string | undefined,
  producible: readonly CompressionCodec[],
): ResponseEncoding | undefined => {
  const standard = parseEncodingList(accept);
  const custom = parseEncodingList(vgiAccept);
  for (const encoding of [...custom, ...standard.filter((e) => !custom.includes(e))]) {
    if (encoding === 'identity') return undefined;
    if (producible.includes(encoding)) {
      const customOnly = custom.includes(encoding) && !standard.includes(encoding);
      return { codec: encoding, header: customOnly ? VGI_CONTENT_ENCODING_HEADER : CONTENT_ENCODING_HEADER };
    }
  }
  return undefined;
};

/**
 * {@link negotiateResponseEncoding} over an engine's request headers
 * (lower-case names, as `HttpRequest.headers` has them).
 */
export const responseEncodingFor = (
  headers: ReadonlyMap<string, string>,
  producible: readonly CompressionCodec[],
): ResponseEncoding | undefined =>
  negotiateResponseEncoding(headers.get('accept-encoding'), headers.get('x-vgi-accept-encoding'), producible);

/** What a request's `Content-Encoding` says about its body. */
export type RequestEncoding =
  /** No header, or an empty one: the body is as sent. */
  | { readonly kind: 'none' }
  /** `identity`: no transformation. The reference and the peer answer it 415 ("not enabled"); a server may also accept it. */
  | { readonly kind: 'identity' }
  /** A codec to undo before reading the body. */
  | { readonly kind: 'codec'; readonly codec: CompressionCodec }
  /** Anything else, including lists (`gzip, zstd`): 415. `token` is the value as sent, trimmed. */
  | { readonly kind: 'unknown'; readonly token: string };

/** Classify a request's `Content-Encoding` value (case and surrounding whitespace ignored). */
export const requestEncodingOf = (value: string | undefined): RequestEncoding => {
  const given = (value ?? '').trim();
  const token = given.toLowerCase();
  if (token === '') return { kind: 'none' };
  if (token === 'identity') return { kind: 'identity' };
  if (token === 'zstd' || token === 'gzip') return { kind: 'codec', codec: token };
  return { kind: 'unknown', token: given };
};
