/**
 * Authentication over HTTP: the hook a server gives (`HttpOptions.authenticate`,
 * run on the main thread for every RPC request) and what it throws to refuse
 * a request with the reference's 401 (`VGI-Auth-Reason`, a JSON envelope,
 * `Cache-Control: no-store`). Kept apart so the server entry can export it
 * without loading the HTTP front end.
 */
import type { HttpRequest } from './engine.js';
import type { AuthContext } from './http-app.js';

/** Why `authenticate` refused a request: the 401's `VGI-Auth-Reason`. */
export type AuthReason = 'missing_credential' | 'invalid_credential' | 'expired_credential' | 'insufficient_scope' | 'proxy_required' | 'unauthorized';

/** What an `authenticate` hook throws to refuse a request with 401. */
export class Unauthorized extends Error {
  override readonly name = 'Unauthorized';
  constructor(readonly reason: AuthReason, readonly detail: string, readonly wwwAuthenticate?: string) {
    super(detail);
  }
}

/** Decides who made a request; throw `Unauthorized` to refuse it with 401. */
export type Authenticate = (request: HttpRequest) => AuthContext | Promise<AuthContext>;

