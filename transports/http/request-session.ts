/**
 * Sticky sessions as one HTTP request sees them: the session its
 * `VGI-Session` token names (resolved against this worker's registry, the
 * session's lock held for the request), the CallContext binding a handler
 * opens, reads and closes sessions through, and the response headers that
 * follow (`VGI-Session` and `VGI-Echo-*` when one was opened,
 * `VGI-Session-Close: true` when one was closed).
 */
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Scope from 'effect/Scope';
import type { SessionBinding } from '../../src/service/call-context.js';
import { ErrorKind, Errors, RpcError } from '../../src/service/errors.js';
import { type TokenIdentity, type TokenSealer, newSessionId } from '../../src/http/state-tokens.js';
import { ECHO_HEADER_PREFIX, SESSION_CLOSE_HEADER, SESSION_HEADER } from '../../src/http/cors-headers.js';
import type { SessionEntry, SessionRegistry } from './session-registry.js';

/** Sticky-session settings of a server. */
export interface StickySettings {
  /** TTL of a session opened without one, in seconds. */
  readonly defaultTtlSeconds: number;
  /** Headers the client must send back on the session's requests (`VGI-Echo-<name>: <value>` on the opening response). */
  readonly echoHeaders: ReadonlyArray<readonly [string, string]>;
  /** The server's session limit, as configured (for the refusal's message). */
  readonly maxSessions?: number;
  /** The sessions this thread may hold at once: its share of `maxSessions`. */
  readonly maxPerHolder?: number;
}

/** Who a request comes from, as sessions bind it. */
export interface SessionCaller {
  /** The token identity (AAD). */
  readonly identity: TokenIdentity;
  /** The registry's owner key (`''`: anonymous); it determines `identity`, so equal keys mean equal associated data. */
  readonly principalKey: string;
}

/** What the app needs to resolve and open sessions in this worker. */
export interface SessionHost {
  readonly registry: SessionRegistry;
  readonly tokens: TokenSealer;
  readonly serverId: string;
  /** Undefined: sticky sessions are off. */
  readonly sticky: StickySettings | undefined;
}

/** The session token a request presents (`VGI-Session`, trimmed), or undefined when it presents none (absent or blank, as the reference). */
export const sessionTokenOf = (headers: ReadonlyMap<string, string>): string | undefined => {
  const token = headers.get('vgi-session')?.trim();
  return token === undefined || token === '' ? undefined : token;
};

/** True when a request opts in to opening a session (`VGI-Session-Accept: true`, in any case). */
export const acceptsSessionOpen = (headers: ReadonlyMap<string, string>): boolean =>
  (headers.get('vgi-session-accept') ?? '').trim().toLowerCase() === 'true';

/** The `SessionLostError` every failure to resume reports. */
export const sessionLost = (detail: string): RpcError => RpcError.of('SessionLostError', `sticky session lost: ${detail}`, ErrorKind.sessionLost);

/** The `SessionLimitError` an open gets while this thread holds its share of the server's session limit. */
const sessionLimit = (sticky: StickySettings): RpcError => new RpcError({
  errorType: 'SessionLimitError',
  message: `the server holds as many sticky sessions as it may (${sticky.maxPerHolder} on this thread, of maxSessions ${sticky.maxSessions}): ` +
    'it opens no new session until some end',
  errorCode: 'RESOURCE_EXHAUSTED',
  errorDetails: [{ '@type': 'vgi_rpc.QuotaFailure', violations: [{ subject: 'sticky_sessions', description: `at most ${sticky.maxPerHolder} sticky sessions per thread` }] }],
});

/** The live session `token` names for `caller`, or why there is none. */
export const resolveSession = (host: SessionHost, token: string, caller: SessionCaller): SessionEntry | string => {
  // A token this server sealed, echoed by the principal it was sealed for: its content is known.
  const known = host.registry.byToken(token);
  if (known !== undefined && known.principalKey === caller.principalKey) return known;
  let content: ReturnType<TokenSealer['openSession']>;
  try {
    content = host.tokens.openSession(token, caller.identity);
  } catch (e) {
    return `the session token was rejected (${(e as Error).message})`;
  }
  if (content.serverId !== host.serverId) return `the session belongs to server '${content.serverId}', not this one`;
  const entry = host.registry.get(content.sessionId, content.expiresAt);
  if (entry === undefined) return 'the session expired, was closed, or is not held by this server';
  if (entry.principalKey !== caller.principalKey) return 'the session belongs to another principal';
  return entry;
};

/** A request's session binding: what the handler sees through its CallContext. */
export class RequestSession implements SessionBinding {
  private opened: { readonly entry: SessionEntry; readonly token: string } | undefined;
  private closedAny = false;
  private unlocked = false;

  constructor(
    private readonly host: SessionHost,
    private readonly caller: SessionCaller,
    /** The request sent `VGI-Session-Accept: true`. */
    private readonly accept: boolean,
    /** The session the request's token resumed, with the token and the release of the session's lock, which the request holds. */
    private readonly resumed?: { readonly entry: SessionEntry; readonly token: string; readonly unlock: () => void },
  ) {}

  /** The request is over: give the resumed session's lock back (once). */
  unlock(): void {
    const r = this.resumed;
    if (r !== undefined && !this.unlocked) {
      this.unlocked = true;
      r.unlock();
    }
  }

  private get current(): { readonly entry: SessionEntry; readonly token: string } | undefined {
    return this.opened ?? this.resumed;
  }

  /** Why this request may not open a session now (undefined: it may), and the TTL it would get. */
  private refusal(ttlSeconds: number | undefined): RpcError | number {
    const { sticky, registry } = this.host;
    if (sticky === undefined) return Errors.runtime('open_session needs sticky sessions, which this server does not enable');
    if (!this.accept) return Errors.runtime('open_session requires the client to send the VGI-Session-Accept: true request header');
    const live = this.current;
    if (live !== undefined && !live.entry.isReleased) return Errors.runtime('a sticky session is already open for this request');
    if (registry.draining) return RpcError.of('ServerDrainingError', 'the server is draining: it opens no new sessions', ErrorKind.serverDraining);
    const ttl = ttlSeconds ?? sticky.defaultTtlSeconds;
    if (!(ttl > 0)) return Errors.value(`a session TTL must be positive, got ${ttl}`);
    // Last, so that every refusal holds no place: the caller gives it back once it registered the session or gave up.
    if (!registry.reserve(sticky.maxPerHolder)) return sessionLimit(sticky);
    return ttl;
  }

  private register(state: unknown, ttl: number, scope?: Scope.CloseableScope): void {
    const sessionId = newSessionId();
    const entry = this.host.registry.open(sessionId, state, this.caller.principalKey, ttl, scope);
    const token = this.host.tokens.sealSession({ serverId: this.host.serverId, sessionId, expiresAt: Math.ceil(entry.expiresAt / 1000) }, this.caller.identity);
    this.host.registry.bindToken(entry, token);
    this.opened = { entry, token };
  }

  open(state: unknown, ttlSeconds?: number): Effect.Effect<void, RpcError> {
    return Effect.suspend(() => {
      const ttl = this.refusal(ttlSeconds);
      if (typeof ttl !== 'number') return Effect.fail(ttl);
      this.host.registry.unreserve();
      this.register(state, ttl);
      return Effect.void;
    });
  }

  acquire<S, E>(acquire: Effect.Effect<S, E, Scope.Scope>, ttlSeconds?: number): Effect.Effect<S, E | RpcError> {
    // The acquisition and the registration are not interrupted halfway: either the session holds the state or
    // its scope is closed; and the place the refusal check holds is given back either way.
    return Effect.uninterruptibleMask((restore) => Effect.suspend((): Effect.Effect<S, E | RpcError> => {
      const ttl = this.refusal(ttlSeconds);
      if (typeof ttl !== 'number') return Effect.fail(ttl);
      const { registry } = this.host;
      return Effect.flatMap(Scope.make(), (scope) =>
        Effect.matchCauseEffect(restore(Scope.extend(acquire, scope)), {
          onFailure: (cause) => Effect.zipRight(Effect.sync(() => registry.unreserve()), Effect.zipRight(Scope.close(scope, Exit.failCause(cause)), Effect.failCause(cause))),
          onSuccess: (state) => Effect.sync(() => {
            registry.unreserve();
            this.register(state, ttl, scope);
            return state;
          }),
        }));
    }));
  }

  get state(): unknown {
    const live = this.current;
    return live === undefined || live.entry.isReleased ? undefined : live.entry.state;
  }

  get id(): string | undefined {
    const live = this.current;
    return live === undefined || live.entry.isReleased ? undefined : live.entry.id;
  }

  /** Close the request's session (built when a handler asks: most requests never close one). */
  get close(): Effect.Effect<void> {
    return Effect.promise(async () => {
      const live = this.current;
      if (live === undefined || live.entry.isReleased) return;
      this.closedAny = true;
      await this.host.registry.remove(live.entry);
    });
  }

  /** The response headers of the request's session changes. */
  responseHeaders(): Array<readonly [string, string]> {
    if (this.closedAny) return [[SESSION_CLOSE_HEADER, 'true']];
    const opened = this.opened;
    if (opened === undefined || opened.entry.isReleased) return [];
    const out: Array<readonly [string, string]> = [[SESSION_HEADER, opened.token]];
    for (const [name, value] of this.host.sticky?.echoHeaders ?? []) out.push([`${ECHO_HEADER_PREFIX}${name}`, value]);
    return out;
  }
}
