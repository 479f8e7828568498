/**
 * The HTTP floor's server: one engine (`uws` or `node`, the first argument)
 * answering every request with its own body, nothing else, on 127.0.0.1 and
 * a free port. Prints `HTTP <engine> <port>` when listening; SIGTERM closes
 * the listener and exits.
 */
import type { HttpHandler } from '../transports/http/engine.js';
import { listenHttp } from '../transports/http/listen-http.js';

const EMPTY = new Uint8Array(0);
const engine = process.argv[2];
if (engine !== 'uws' && engine !== 'node') {
  process.stderr.write('usage: http-echo-server.js uws|node\n');
  process.exit(2);
}

/** Synchronous on purpose: the floor is the engine's own cost, with no handler work or promise in between. */
const echo: HttpHandler = (request) => ({ status: 200, headers: [['content-type', 'application/octet-stream']], body: [request.body ?? EMPTY] });

const listener = await listenHttp({ engine, host: '127.0.0.1', port: 0, maxBodyBytes: 1024 * 1024, handler: echo });
process.stdout.write(`HTTP ${listener.engine} ${listener.port}\n`);
process.on('SIGTERM', () => {
  void listener.close().then(() => process.exit(0));
});
