/**
 * The HttpRequest both engines hand to the handler. Its `aborted` signal is
 * made only when the handler asks for it: creating an AbortController costs
 * about a microsecond (Node builds its AbortSignal by re-prototyping an
 * EventTarget), a visible share of a bare request's cost.
 */
import type { HttpRequest } from './engine.js';

/** One request as read by an engine; `EngineRequest.abort` is the engine's way to say the client went away. */
export class EngineRequest implements HttpRequest {
  #controller: AbortController | undefined;
  #aborted = false;

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
  }
}
