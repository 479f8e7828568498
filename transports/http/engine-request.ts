/**
 * The HttpRequest both engines hand to the handler. Its `aborted` signal is
 * made only when the handler asks for it: creating an AbortController costs
 * about a microsecond (Node builds its AbortSignal by re-prototyping an
 * EventTarget), a visible share of a bare request's cost. `onAbort` lets
 * the server's own code listen without one.
 */
import type { HttpRequest } from './engine.js';

/** Subscribe `listener` to the client going away (called at once if it already has); returns the unsubscribe. */
export type AbortHook = (listener: () => void) => () => void;

const NOTHING = (): void => {};

/** One request as read by an engine; `EngineRequest.abort` is the engine's way to say the client went away. */
export class EngineRequest implements HttpRequest {
  #controller: AbortController | undefined;
  #aborted = false;
  #listeners: Array<() => void> | undefined;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly query: string,
    readonly headers: ReadonlyMap<string, string>,
    readonly body: Uint8Array | undefined,
    readonly remoteAddress: string,
  ) {}

  /** Fires once if the client goes away before the reply is written. */
  get aborted(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** Engines only: the client went away (fires `aborted` now, or makes it already fired when first asked for). */
  static abort(request: EngineRequest): void {
    if (request.#aborted) return;
    request.#aborted = true;
    request.#controller?.abort();
    const listeners = request.#listeners;
    request.#listeners = undefined;
    if (listeners !== undefined) for (const l of listeners) l();
  }

  /** Listen for the client going away without an AbortSignal (a plain callback list). */
  static listen(request: EngineRequest, listener: () => void): () => void {
    if (request.#aborted) {
      listener();
      return NOTHING;
    }
    (request.#listeners ??= []).push(listener);
    return () => {
      const listeners = request.#listeners;
      const i = listeners?.indexOf(listener) ?? -1;
      if (i >= 0) listeners!.splice(i, 1);
    };
  }
}

/** The abort hook of any HttpRequest: a plain callback list for the engines' own requests, the AbortSignal otherwise. */
export const abortHook = (request: HttpRequest): AbortHook => {
  if (request instanceof EngineRequest) return (listener) => EngineRequest.listen(request, listener);
  return (listener) => {
    const signal = request.aborted;
    if (signal.aborted) {
      listener();
      return NOTHING;
    }
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  };
};
