/** The TCP client: a ClientTransport connected to host:port, with TCP_NODELAY. */
import { createConnection } from 'node:net';
import { type SocketTransport, socketTransport } from '../socket/socket-transport.js';

/** Connect to the server at `host:port`. */
export const connectTcp = (host: string, port: number): SocketTransport =>
  socketTransport((onread) => createConnection({ host, port, noDelay: true, onread }));
