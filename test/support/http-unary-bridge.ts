/**
 * Test support: a byte-stream `ClientTransport` over HTTP for raw unary
 * requests. Each complete request stream written to it is POSTed to
 * `{base}/{protocol}/{method}` (read from the request batch's metadata) and
 * the response body is pushed back as the stream's bytes, in order. This
 * lets the suite's raw-call checks (the server's own bytes) run over HTTP;
 * stream methods and requests without routing metadata have no bridge.
 */
import type { ClientTransport } from '../../src/client/connection.js';
import { FrameSource } from '../../src/wire/frame-source.js';
import { concatBytes } from '../../src/wire/batch-encoder.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { peekBatchMetadata } from '../../src/wire/metadata-peek.js';

const EOS = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

const endsWithEos = (b: Uint8Array): boolean => b.byteLength >= 8 && EOS.every((x, i) => b[b.byteLength - 8 + i] === x);

/** A transport that carries unary request streams as HTTP requests to `base`. */
export const httpUnaryBridge = (base: string): ClientTransport => {
  const frames = new FrameSource();
  let pending: Uint8Array[] = [];
  let chain = Promise.resolve();
  return {
    frames,
    write: (chunks) => {
      pending.push(...chunks.map((c) => Uint8Array.prototype.slice.call(c)));
      const body = concatBytes(pending);
      if (!endsWithEos(body)) return;
      pending = [];
      const md = peekBatchMetadata(body);
      const protocol = md?.get(Keys.protocol);
      const method = md?.get(Keys.method);
      if (protocol === undefined || method === undefined) throw new Error('the HTTP bridge routes by vgi_rpc.protocol and vgi_rpc.method: this request carries neither');
      chain = chain.then(async () => {
        const res = await fetch(`${base}/${protocol}/${method}`, {
          method: 'POST', body, headers: { 'Content-Type': 'application/vnd.apache.arrow.stream', 'Accept-Encoding': 'identity' },
        });
        frames.push(new Uint8Array(await res.arrayBuffer()));
      });
      return chain;
    },
    close: () => frames.end(),
  };
};
