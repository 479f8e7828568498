/**
 * The HTTP route table, engine-independent: how a request path names a
 * protocol, a method and the action on it (`{prefix}/{protocol}/{method}`,
 * `/init`, `/exchange`), and the flat reserved endpoints that belong to no
 * protocol. Segments are compared raw (still percent-encoded), as the
 * reference does: a `%` in a protocol segment is refused, never decoded.
 */

/** What a POST to an RPC path asks for. */
export type RpcAction = 'call' | 'init' | 'exchange';

/** An RPC path split into its parts. */
export interface RpcRoute {
  readonly protocol: string;
  readonly method: string;
  readonly action: RpcAction;
}

/** The flat endpoints under the prefix (answered before RPC routing). */
export const ReservedPaths = {
  health: 'health',
  session: '__session__',
  uploadUrl: '__upload_url__/init',
  retiredDescribe: '__describe__',
  describePage: 'describe',
} as const;

/** Collapse runs of `/` (a base URL ending in `/` joined with `/method` must still route). */
export const normalizePath = (path: string): string => (path.includes('//') ? path.replace(/\/{2,}/g, '/') : path);

/** A mount prefix as routes use it: `''` or `/x` (no trailing slash). */
export const normalizePrefix = (prefix: string): string => {
  if (prefix === '' || prefix === '/') return '';
  const p = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return p.endsWith('/') ? p.slice(0, -1) : p;
};

/**
 * The flat reserved path `path` names under `prefix` (`health`,
 * `__session__`, ...), the empty string for the prefix itself, or undefined
 * when it is outside the prefix.
 */
export const underPrefix = (prefix: string, path: string): string | undefined => {
  if (path === prefix || path === `${prefix}/`) return '';
  if (!path.startsWith(`${prefix}/`)) return undefined;
  return path.slice(prefix.length + 1);
};

/**
 * Split `{prefix}/{protocol}/{method}[/init|/exchange]`; undefined when the
 * path is outside the prefix or not shaped like an RPC route (exactly two
 * non-empty segments before the action).
 */
export const parseRpcRoute = (prefix: string, path: string): RpcRoute | undefined => {
  let sub = underPrefix(prefix, path);
  if (sub === undefined || sub === '') return undefined;
  let action: RpcAction = 'call';
  if (sub.endsWith('/init')) {
    action = 'init';
    sub = sub.slice(0, -'/init'.length);
  } else if (sub.endsWith('/exchange')) {
    action = 'exchange';
    sub = sub.slice(0, -'/exchange'.length);
  }
  const slash = sub.indexOf('/');
  if (slash <= 0) return undefined;
  const method = sub.slice(slash + 1);
  if (method === '' || method.includes('/')) return undefined;
  return { protocol: sub.slice(0, slash), method, action };
};
