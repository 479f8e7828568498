/**
 * WorkerLinks: requests to another worker over a MessagePort. A request's
 * body is moved to the receiving thread when it spans its own buffer and
 * copied otherwise; an empty body is never moved, since engines share one
 * empty body among all bodiless requests (a DELETE of a session): moving it
 * once detached it for every later request, whose forwarding then failed.
 */
import { type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { LinkMessage, LinkReply } from '../../transports/http/http-worker.js';
import type { RpcRequest } from '../../transports/http/http-app.js';
import { WorkerLinks } from '../../transports/http/worker-forwarder.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** Links whose far end answers every request 204, saying how many body bytes it got. */
const echoLinks = (): WorkerLinks =>
  new WorkerLinks('links-test', (_threadId, port) => {
    ports.push(port);
    port.postMessage([{ linked: true }] satisfies LinkReply[]);
    port.on('message', (batch: readonly LinkMessage[]) => {
      for (const m of batch) {
        if (m.op !== 'request') continue;
        const got = m.request.body?.byteLength ?? -1;
        port.postMessage([{ id: m.id, reply: { status: 204, headers: [['X-Got', String(got)]], body: new Uint8Array(0) } }] satisfies LinkReply[]);
      }
    });
    return Promise.resolve();
  });

const request = (body: Uint8Array | undefined): RpcRequest => ({
  method: body === undefined || body.byteLength === 0 ? 'DELETE' : 'POST',
  path: '/__session__',
  headers: new Map([['vgi-session', 'token']]) as unknown as RpcRequest['headers'],
  body,
  auth: { authenticated: false },
  requestId: 'r',
} as unknown as RpcRequest);

const send = async (links: WorkerLinks, body: Uint8Array | undefined): Promise<string | undefined> => {
  const answered = await links.request(7, request(body), () => () => undefined);
  if ('crashed' in answered) throw new Error('the link said the worker crashed');
  return answered.reply.headers.find(([k]) => k === 'X-Got')?.[1];
};

describe('WorkerLinks', () => {
  it('a shared empty body crosses any number of times and stays usable', async () => {
    const links = echoLinks();
    const shared = new Uint8Array(0);
    for (let i = 0; i < 3; i++) expect(await send(links, shared)).toBe('0');
    // A detached buffer refuses this (it is what forwarding a request does with a body it keeps).
    expect(() => Uint8Array.prototype.slice.call(shared)).not.toThrow();
  });

  it('a body spanning its buffer is moved; a view into a larger buffer is copied, the original intact', async () => {
    const links = echoLinks();
    const whole = new Uint8Array([1, 2, 3]);
    expect(await send(links, whole)).toBe('3');
    expect(whole.byteLength).toBe(0);
    const backing = new Uint8Array([9, 8, 7, 6]);
    const view = backing.subarray(1, 3);
    expect(await send(links, view)).toBe('2');
    expect([...backing]).toEqual([9, 8, 7, 6]);
  });
});
