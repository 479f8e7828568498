/**
 * Serving one byte connection with a dispatcher, wherever it runs (main
 * thread or worker): a framing error the protocol cannot resynchronise from
 * is reported once (a log line, and a ProtocolError stream to the peer) and
 * ends only this connection; a peer that vanished ends it silently.
 */
import { diagnostic } from './diagnostics.js';
import type { ByteConnection } from '../src/protocol/byte-connection.js';
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import { writeErrorStream } from '../src/protocol/responses.js';
import { Errors, toWireError } from '../src/service/errors.js';
import { emptySchema } from '../src/service/method.js';
import { isWireError } from '../src/wire/errors.js';

/** How a connection ended: `error` names an abnormal end (already logged). */
export interface ConnectionOutcome {
  readonly error?: string;
}

/** The default sink for a connection's diagnostic lines (warnings: a framing error, a failed connection). */
export const stderrLog = diagnostic('warning');

/** Serve `conn` until it ends; never rejects. `label` names it in the log line. */
export const serveConnection = async (dispatcher: Dispatcher, conn: ByteConnection, label: string, log: (line: string) => void = stderrLog): Promise<ConnectionOutcome> => {
  try {
    await dispatcher.serve(conn);
    return {};
  } catch (e) {
    if (isWireError(e)) {
      const error = `cannot read the request stream (${e.name}: ${e.message})`;
      log(`vgi-rpc: ${label}: ${error}; closing the connection`);
      const out: Uint8Array[] = [];
      writeErrorStream(out, emptySchema(), toWireError(Errors.protocol(e.message)), { serverId: dispatcher.serverId, requestId: undefined });
      await Promise.resolve(conn.write(out)).catch(() => undefined);
      return { error };
    }
    const error = `connection failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    log(`vgi-rpc: ${label}: ${error}`);
    return { error };
  }
};
