/**
 * What the conformance handlers need from their host: the cancel probe and
 * the sticky-session operations. Defaults suit every transport (in-process or
 * file-shared probe; the CallContext's sticky sessions).
 */
import { type CancelProbe, cancelProbe } from './cancel-probe.js';
import { type StickySessions, contextSessions } from './sessions.js';

/** Host-provided pieces of the conformance service. */
export interface ConformanceEnv {
  /** Counters observed by the cancel tests. */
  readonly probe: CancelProbe;
  /** Sticky-session operations for the counter methods. */
  readonly sessions: StickySessions;
}

/** Options of the conformance Layer; anything omitted takes the default. */
export type ConformanceOptions = Partial<ConformanceEnv>;

/** Fill in the defaults. */
export const conformanceEnv = (options: ConformanceOptions = {}): ConformanceEnv => ({
  probe: options.probe ?? cancelProbe,
  sessions: options.sessions ?? contextSessions,
});
