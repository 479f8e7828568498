/** The unix socket client: a ClientTransport connected to the server at a socket path. */
import { createConnection } from 'node:net';
import { type SocketTransport, socketTransport } from '../socket/socket-transport.js';

/** Connect to the server listening on the unix socket at `path`. */
export const connectUnix = (path: string): SocketTransport => socketTransport((onread) => createConnection({ path, onread }));
