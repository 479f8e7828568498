/**
 * The HTTP front end on the main thread: what is answered without a worker
 * (health, OPTIONS, 405, authentication and its 401, the response-budget
 * header's syntax) and the hand-off of everything else to the worker that
 * owns it (`forward`). Every response it gives, its own or a worker's,
 * carries the capability headers and `X-Request-ID`, and CORS headers when
 * CORS is on.
 */
import { normalizePath, parseRpcRoute, underPrefix, ReservedPaths } from '../../src/http/routes.js';
import { Errors, toWireError, RpcError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import type { HttpHandler, HttpReply, HttpRequest } from './engine.js';
import { type Authenticate, Unauthorized } from './unauthorized.js';

export { type AuthReason, type Authenticate, Unauthorized } from './unauthorized.js';
import { type AbortHook, abortHook } from './engine-request.js';
import { type HeaderList, OPTIONS_CACHE_CONTROL } from '../../src/http/capability-headers.js';
import { ResponseBudgetHeaderError, acceptMaxResponseBytesOf } from '../../src/http/response-budget.js';
import { REQUEST_ID_HEADER, requestIdOf } from '../../src/http/request-id.js';
import { ANONYMOUS, ARROW_CONTENT_TYPE, type AuthContext, type RpcRequest, textReply } from './http-app.js';
import { sessionTokenOf } from './request-session.js';

/** The headers stamped on responses, computed once from the server's configuration. */
export interface ResponseStamps {
  /** Capability headers for every response. */
  readonly capabilities: HeaderList;
  /** CORS headers for a response to `method` with the request's `headers` (none when CORS is off). */
  cors(method: string, headers: ReadonlyMap<string, string>): HeaderList;
}

/** How the front end answers. */
export interface FrontEndOptions {
  readonly prefix: string;
  readonly serverId: string;
  /** The primary protocol's name (in the health body). */
  readonly protocol: string;
  readonly stamps: ResponseStamps;
  readonly authenticate?: Authenticate;
  /** GET pages (landing, describe, 404), or undefined to answer plain 404s. */
  readonly pages?: (path: string) => HttpReply | Promise<HttpReply>;
  /** Sticky sessions are on: `DELETE {prefix}/__session__` goes to the session's worker. */
  readonly sticky?: boolean;
  /** The readiness probe: `GET|HEAD path` answers 200 while `ready()`, else 503 (draining). */
  readonly readiness?: { readonly path: string; ready(): boolean };
  /** Test servers: `POST`/`DELETE /__test_drain__` start/stop refusing new sticky sessions. */
  readonly testDrain?: (on: boolean) => Promise<void>;
  /** Hand an RPC request to the worker that owns it; `onAbort` tells when the client goes away. */
  readonly forward: (request: RpcRequest, onAbort: AbortHook) => Promise<HttpReply>;
}

/** The conformance worker's drain switch (outside any prefix, as the reference's). */
const TEST_DRAIN_PATH = '/__test_drain__';

/** The engine handler of an HTTP server. */
export const frontEnd = (o: FrontEndOptions): HttpHandler => {
  const healthBody = new TextEncoder().encode(JSON.stringify({ status: 'ok', server_id: o.serverId, protocol: o.protocol }));
  const arrowError = (status: number, error: RpcError, requestId: string): HttpReply => {
    const out: Uint8Array[] = [];
    writeErrorStream(out, emptySchema(), toWireError(error), { serverId: o.serverId, requestId });
    return { status, headers: [['Content-Type', ARROW_CONTENT_TYPE], ['X-VGI-RPC-Error', 'true']], body: out };
  };
  const unauthorized = (e: Unauthorized): HttpReply => {
    const headers: [string, string][] = [['Content-Type', 'application/json'], ['VGI-Auth-Reason', e.reason], ['Cache-Control', 'no-store']];
    if (e.wwwAuthenticate !== undefined) headers.push(['WWW-Authenticate', e.wwwAuthenticate]);
    return { status: 401, headers, body: [new TextEncoder().encode(JSON.stringify({ error: 'unauthorized', reason: e.reason, detail: e.detail }))] };
  };

  const answer = async (req: HttpRequest, requestId: string): Promise<{ reply: HttpReply; options: boolean }> => {
    const path = normalizePath(req.path);
    const sub = underPrefix(o.prefix, path);
    if (sub === ReservedPaths.health && (req.method === 'GET' || req.method === 'HEAD')) {
      const headers: [string, string][] = [['Content-Type', 'application/json']];
      if (req.method === 'HEAD') headers.push(['Content-Length', String(healthBody.byteLength)]);
      return { reply: { status: 200, headers, body: req.method === 'HEAD' ? [] : [healthBody] }, options: false };
    }
    if (o.readiness !== undefined && path === o.readiness.path && (req.method === 'GET' || req.method === 'HEAD')) {
      const ready = o.readiness.ready();
      const body = new TextEncoder().encode(JSON.stringify({ status: ready ? 'ready' : 'draining', server_id: o.serverId }));
      const headers: [string, string][] = [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']];
      if (req.method === 'HEAD') headers.push(['Content-Length', String(body.byteLength)]);
      return { reply: { status: ready ? 200 : 503, headers, body: req.method === 'HEAD' ? [] : [body] }, options: false };
    }
    const invalidBudget = (e: unknown, options: boolean): { reply: HttpReply; options: boolean } => {
      if (!(e instanceof ResponseBudgetHeaderError)) throw e;
      return { reply: arrowError(400, RpcError.of(e.errorType, e.message), requestId), options };
    };
    if (req.method === 'OPTIONS') {
      try {
        acceptMaxResponseBytesOf(req.headers);
      } catch (e) {
        return invalidBudget(e, true);
      }
      return { reply: { status: 204, headers: [OPTIONS_CACHE_CONTROL], body: [] }, options: true };
    }
    if (req.method === 'GET') return { reply: o.pages === undefined ? textReply(404, 'Not Found') : await o.pages(path), options: false };
    if (o.testDrain !== undefined && path === TEST_DRAIN_PATH && (req.method === 'POST' || req.method === 'DELETE')) {
      await o.testDrain(req.method === 'POST');
      return { reply: { status: 204, headers: [], body: [] }, options: false };
    }
    const sessionDelete = req.method === 'DELETE' && sub === ReservedPaths.session && o.sticky === true;
    // Every failure of a session DELETE answers 200 with an empty body (it is idempotent).
    if (sessionDelete && sessionTokenOf(req.headers) === undefined) return { reply: { status: 200, headers: [], body: [] }, options: false };
    if (req.method !== 'POST' && !sessionDelete) {
      // A wrong verb on a route is 405; a path that is no route is 404 whatever the verb (the reference's not-found sink).
      const routed = sub !== undefined && (sub === ReservedPaths.health || sub === ReservedPaths.session || parseRpcRoute(o.prefix, path) !== undefined);
      return { reply: routed ? textReply(405, 'Method Not Allowed') : textReply(404, 'Not Found'), options: false };
    }
    let auth: AuthContext = ANONYMOUS;
    if (o.authenticate !== undefined) {
      try {
        auth = await o.authenticate(req);
      } catch (e) {
        if (sessionDelete) return { reply: { status: 200, headers: [], body: [] }, options: false };
        if (e instanceof Unauthorized) return { reply: unauthorized(e), options: false };
        return { reply: textReply(500, 'authentication failed'), options: false };
      }
    }
    let acceptMaxResponseBytes: number | undefined;
    try {
      acceptMaxResponseBytes = acceptMaxResponseBytesOf(req.headers);
    } catch (e) {
      return invalidBudget(e, false);
    }
    const rpc: RpcRequest = { method: req.method, path, headers: req.headers, body: req.body, auth, requestId, acceptMaxResponseBytes };
    return { reply: await o.forward(rpc, abortHook(req)), options: false };
  };

  return async (req) => {
    const requestId = requestIdOf(req.headers);
    let result: { reply: HttpReply; options: boolean };
    try {
      result = await answer(req, requestId);
    } catch (e) {
      result = { reply: arrowError(200, Errors.runtime(`internal error: ${(e as Error).message}`), requestId), options: false };
    }
    const { reply } = result;
    return {
      status: reply.status,
      headers: [...reply.headers, ...o.stamps.cors(req.method, req.headers), ...o.stamps.capabilities, [REQUEST_ID_HEADER, requestId]],
      body: reply.body,
      ...(reply.onWritten === undefined ? {} : { onWritten: reply.onWritten }),
    };
  };
};
