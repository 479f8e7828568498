/**
 * TCP addresses as the servers and their command line speak of them, apart from the TCP server
 * itself so that naming an address (the default host in a usage text, a stdio server's options)
 * does not load the socket listener.
 */

/** A bound TCP address. */
export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/** The default listen host: loopback only. */
export const DEFAULT_TCP_HOST = '127.0.0.1';
