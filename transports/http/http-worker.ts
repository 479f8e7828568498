/**
 * The HTTP routes' worker-side part: each worker of a pool answers the HTTP
 * requests the front end addresses to it with its own HttpApp (its
 * dispatcher, its call-state cache), and interrupts a request's call when
 * the front end says its client went away. Reply bodies are moved back to
 * the main thread, not copied.
 */
import { Piscina } from 'piscina';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import { concatBytes } from '../../src/wire/batch-encoder.js';
import type { WorkerData } from '../../runtime/channel.js';
import type { TransportTaskHandler } from '../../runtime/worker-entry.js';
import { type HttpSettings, appOptionsOf } from './http-config.js';
import { pageModel } from '../../src/http/pages.js';
import { HttpApp, type InFlight, type RpcRequest } from './http-app.js';

/** The transport name of HTTP tasks. */
export const HTTP_TASKS = 'http';

/** What the front end sends a worker. */
export type HttpTaskPayload =
  | { readonly op: 'request'; readonly id: number; readonly request: RpcRequest }
  | { readonly op: 'abort'; readonly id: number }
  | { readonly op: 'closeStreams'; readonly detail: string }
  /** The page model of the hosted protocols (the front end renders the HTML pages from it). */
  | { readonly op: 'pageModel' };

/** A worker's answer to one request: the reply, with the call token of a stream it now holds or has just ended. */
export interface HttpTaskReply {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
  /** The call token of a stream this worker holds after the request (its continuations come here). */
  readonly owns?: string;
  /** The call token of a stream that ended with the request. */
  readonly released?: string;
}

/** Answer one request with `app` as a task reply (the body gathered into one transferable buffer). */
export const answerTask = async (app: HttpApp, request: RpcRequest, onStart?: (f: InFlight) => void): Promise<HttpTaskReply> => {
  const reply = await app.answer(request, onStart);
  const body = reply.body.length === 1 && reply.body[0]!.byteOffset === 0 && reply.body[0]!.byteLength === reply.body[0]!.buffer.byteLength
    ? reply.body[0]!
    : concatBytes(reply.body);
  return {
    status: reply.status, headers: reply.headers, body,
    ...(reply.owns === undefined ? {} : { owns: reply.owns }),
    ...(reply.released === undefined ? {} : { released: reply.released }),
  };
};

/** The WorkerHook of HTTP: builds this worker's HttpApp when the pool serves HTTP. */
export const httpInWorker = (dispatcher: Dispatcher, _serverId: string, data: WorkerData): TransportTaskHandler | void => {
  const settings = data.transports?.[HTTP_TASKS] as HttpSettings | undefined;
  if (settings === undefined) return;
  const app = new HttpApp(dispatcher, appOptionsOf(settings));
  const inFlight = new Map<number, InFlight>();
  const aborted = new Set<number>();
  return {
    transport: HTTP_TASKS,
    handle: async (payload) => {
      const task = payload as HttpTaskPayload;
      if (task.op === 'abort') {
        const f = inFlight.get(task.id);
        if (f !== undefined) f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' });
        else aborted.add(task.id);
        return undefined;
      }
      if (task.op === 'pageModel') return pageModel(dispatcher.hosting, { prefix: settings.prefix });
      if (task.op === 'closeStreams') {
        await app.closeStreams({ _tag: 'shutdown', detail: task.detail });
        return undefined;
      }
      try {
        const reply = await answerTask(app, task.request, (f) => {
          inFlight.set(task.id, f);
          if (aborted.delete(task.id)) f.calls.interruptAll({ _tag: 'disconnect', detail: 'the client aborted the HTTP request' });
        });
        return Piscina.move({ [Piscina.transferableSymbol]: reply.body.buffer, [Piscina.valueSymbol]: reply } as never);
      } finally {
        inFlight.delete(task.id);
        aborted.delete(task.id);
      }
    },
  };
};
