/**
 * A connection that reaches a draining server: the listener was stopping,
 * and the kernel had already completed it (the client saw connect()
 * succeed). A drain starts no new work, so it is not served: every request
 * it sent is answered with ServerShutdownError (kind `server_draining`),
 * and once what the kernel holds for it has been read it is closed in order
 * like any drained connection (closing it at once would reset it if its
 * request had arrived). See ByteConnection.refuse.
 */

/** Why the calls of a connection that arrives during a drain are refused. */
export const DRAINING_REFUSAL = 'the server is draining and takes no new connections';

/**
 * The refusal a connection arriving now gets: none while the server serves;
 * while it drains, DRAINING_REFUSAL, or the detail calls are being
 * interrupted with once the grace period is over (or on shutdown).
 */
export const refusalOf = (draining: boolean, interrupting: string | undefined): string | undefined =>
  draining || interrupting !== undefined ? interrupting ?? DRAINING_REFUSAL : undefined;
