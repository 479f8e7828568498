/**
 * What `describe` and `call` share: connecting, learning the server's
 * protocols from Reflection, choosing the protocol (`--protocol`, or the
 * only application protocol), printing server logs on stderr, and turning
 * any failure into a CliFailure with its exit code.
 */
import { RpcClientError } from '../src/client/client-error.js';
import type { ReceivedLog } from '../src/client/client-log.js';
import { type ReflectedServer, listProtocols } from '../src/client/reflected-client.js';
import { type Endpoint, type ServerAddress, connect } from './connect.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { writeJson } from './json-text.js';
import { ValueProblem } from './param-values.js';

/** A connected server and what it hosts. */
export interface Session {
  readonly endpoint: Endpoint;
  readonly server: ReflectedServer;
}

/** Where client-directed server logs go: one line each on stderr. */
export const printLog = (log: ReceivedLog): void => {
  const extra = log.extra === undefined || Object.keys(log.extra).length === 0 ? '' : ` ${writeJson(log.extra)}`;
  process.stderr.write(`[server log] ${log.level} ${log.message}${extra}\n`);
};

/** The failure (and exit code) for anything a command step threw. */
export const failureOf = async (e: unknown, endpoint: Endpoint | undefined): Promise<CliFailure> => {
  if (e instanceof CliFailure) return e;
  if (e instanceof ValueProblem) return new CliFailure(ExitCode.usage, e.message);
  if (e instanceof RpcClientError) {
    if (!e.local) {
      const kind = e.errorKind === undefined ? '' : ` [${e.errorKind}]`;
      return new CliFailure(ExitCode.rpcError, `${e.errorType}: ${e.message}${kind}`);
    }
    if (e.errorType === 'TransportError') {
      const why = await endpoint?.explain();
      return new CliFailure(ExitCode.unavailable, `connection lost: ${e.message}${why === undefined ? '' : ` (${why})`}`);
    }
    return new CliFailure(ExitCode.protocol, `${e.errorType}: ${e.message}`);
  }
  return new CliFailure(ExitCode.internal, `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
};

/** Connect, ask the server what it hosts, run `body`, and close; failures carry their exit code. */
export const withSession = async <A>(address: ServerAddress, body: (s: Session) => Promise<A>): Promise<A> => {
  let endpoint: Endpoint | undefined;
  try {
    endpoint = await connect(address);
    const server = await listProtocols(endpoint.conn, { onLog: printLog });
    return await body({ endpoint, server });
  } catch (e) {
    throw await failureOf(e, endpoint);
  } finally {
    await endpoint?.close();
  }
};

const isFramework = (name: string): boolean => name.startsWith('vgi_rpc.');

/** The protocols `describe` shows without `--protocol`: the application ones (all, when there are none). */
export const applicationProtocols = (server: ReflectedServer): string[] => {
  const names = server.protocols.map((p) => p.name);
  const app = names.filter((n) => !isFramework(n));
  return app.length > 0 ? app : names;
};

/** The protocol a call addresses: `--protocol`, or the only application protocol (else a usage error listing them). */
export const pickProtocol = (server: ReflectedServer, requested: string | undefined): string => {
  const names = server.protocols.map((p) => p.name);
  if (requested !== undefined) {
    if (!names.includes(requested)) throw new CliFailure(ExitCode.usage, `the server does not host protocol '${requested}'; it hosts: ${names.join(', ')}`);
    return requested;
  }
  const app = names.filter((n) => !isFramework(n));
  if (app.length === 1) return app[0]!;
  throw new CliFailure(ExitCode.usage, app.length === 0
    ? `the server hosts no application protocol; choose one with --protocol NAME: ${names.join(', ')}`
    : `the server hosts ${app.length} protocols; choose one with --protocol NAME: ${app.join(', ')}`);
};
