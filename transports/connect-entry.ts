/**
 * The package's `./connect` entry: connect a client to a server over a unix
 * socket, TCP, a spawned server process, HTTP or an in-process `shm`
 * channel, as a Promise (`open`) or as an Effect held by a Scope
 * (`connect`), plus the transports themselves.
 */
export { open, connect, openTransport, parseEndpoint, type Endpoint, type ByteStreamEndpoint, type HttpEndpoint } from './connect.js';
export { HttpConnection, httpConnect, httpConnectScoped, type HttpConnectOptions } from '../src/client/http/http-connection.js';
export { connectUnix } from './unix/unix-client.js';
export { connectTcp } from './tcp/tcp-client.js';
export { spawnServer, type SpawnOptions, type SubprocessTransport } from './pipe/subprocess-client.js';
export type { SocketTransport } from './socket/socket-transport.js';
export { connectShm, shmClientTransport, type ShmTransport } from './shm/shm-client.js';
export type { ShmAcceptor, ShmChannelHandle } from './shm/shm-server.js';
export { RingError, type RingErrorReason } from '../runtime/sab-ring.js';
