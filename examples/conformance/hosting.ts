/**
 * What a conformance server hosts: ConformanceService of the chosen
 * generation, then conformance.Secondary.v1 (Reflection is added by the
 * runtime). Shared by the worker CLI (main thread) and its worker-thread
 * module, which learns the generation from `VGI_CONFORMANCE_GENERATION`: the
 * CLI sets it before the pool starts, and worker threads inherit a copy of
 * the main thread's environment when they are created.
 */
import { closeSync, openSync } from 'node:fs';
import * as Effect from 'effect/Effect';
import * as Layer from 'effect/Layer';
import { type AuthReason, type Authenticate, Unauthorized } from '../../transports/http/front-end.js';
import type { Hostable } from '../../src/protocol/dispatcher.js';
import type { ServiceImpl } from '../../src/service/service.js';
import { SecondaryLive, SecondaryService } from './secondary.js';
import { ConformanceService, ConformanceService89, conformance89Layer, conformanceLayer } from './service.js';

/** A ConformanceService generation: 90 (newest) or 89 (the npm peer era, without `published_string`). */
export type Generation = 89 | 90;

/** Environment variable carrying the generation to the worker threads. */
export const GENERATION_ENV = 'VGI_CONFORMANCE_GENERATION';

/** Parse a generation ('89' or '90'); undefined for anything else. */
export const parseGeneration = (v: string | undefined): Generation | undefined => (v === '89' ? 89 : v === '90' ? 90 : undefined);

/** The generation named by the environment (default 90); throws on a malformed value. */
export const generationFromEnv = (env: NodeJS.ProcessEnv = process.env): Generation => {
  const v = env[GENERATION_ENV];
  if (v === undefined || v === '') return 90;
  const g = parseGeneration(v);
  if (g === undefined) throw new RangeError(`${GENERATION_ENV} must be 89 or 90, got ${JSON.stringify(v)}`);
  return g;
};

/** The services and their Layer for one generation. */
export const conformanceHosting = (generation: Generation): { services: readonly Hostable[]; layer: Layer.Layer<ServiceImpl<any>> } =>
  generation === 89
    ? { services: [ConformanceService89, SecondaryService], layer: Layer.merge(conformance89Layer(), SecondaryLive) }
    : { services: [ConformanceService, SecondaryService], layer: Layer.merge(conformanceLayer(), SecondaryLive) };

/** Environment variable telling every thread that the first on_serve_start call fails (`--fail-serve-start-once`). */
export const FAIL_SERVE_START_ENV = 'VGI_CONFORMANCE_FAIL_SERVE_START_ONCE';

/**
 * Environment variable naming a file that does not exist yet: the thread
 * that creates it has the process's first on_serve_start call, so the call
 * fails once per process, not once per thread (a worker that listens itself
 * may take the follow-up request the reference expects to succeed).
 */
export const FAIL_SERVE_START_MARK_ENV = 'VGI_CONFORMANCE_FAIL_SERVE_START_MARK';

/** The on_serve_start hook of `--fail-serve-start-once` (the reference fixture's): fails the first time, then succeeds. */
export const serveStartHook = (env: NodeJS.ProcessEnv = process.env): { onServeStart?: () => Effect.Effect<void, Error> } => {
  if (env[FAIL_SERVE_START_ENV] !== '1') return {};
  const mark = env[FAIL_SERVE_START_MARK_ENV];
  let failed = false;
  const first = (): boolean => {
    if (mark === undefined || mark === '') return true;
    try {
      closeSync(openSync(mark, 'wx'));
      return true;
    } catch {
      return false;
    }
  };
  return {
    onServeStart: () => Effect.suspend(() => {
      if (failed) return Effect.void;
      failed = true;
      return first() ? Effect.fail(new Error('injected on_serve_start failure')) : Effect.void;
    }),
  };
};

const REQUESTABLE_REASONS: ReadonlySet<string> = new Set(['missing_credential', 'invalid_credential', 'expired_credential', 'insufficient_scope']);

/**
 * The `authenticate` hook of `--auth-reject-all`: every request is refused,
 * with the reason `X-Conformance-Auth-Reason` asks for when it is one a
 * client can provoke, else `unauthorized`.
 */
export const rejectAll: Authenticate = (request) => {
  const asked = request.headers.get('x-conformance-auth-reason') ?? '';
  if (REQUESTABLE_REASONS.has(asked)) throw new Unauthorized(asked as AuthReason, asked);
  throw new Unauthorized('unauthorized', 'this server refuses every request');
};

/**
 * The `authenticate` hook of `--sticky-auth`: `X-Conformance-Principal: <name>`
 * authenticates as `<name>` (domain `conformance`); without it the caller is
 * anonymous. Only for the sticky conformance fixture (principal-bound sessions).
 */
export const principalFromHeader: Authenticate = (request) => {
  const principal = (request.headers.get('x-conformance-principal') ?? '').trim();
  return principal === '' ? { authenticated: false, principal: '', domain: '' } : { authenticated: true, principal, domain: 'conformance' };
};

/** The sticky echo header pair the conformance worker advertises (the reference's). */
export const CONFORMANCE_ECHO_HEADERS: Readonly<Record<string, string>> = { 'x-vgi-conformance-echo': 'conformance-fixed-marker' };
