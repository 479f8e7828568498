/**
 * `vgi-rpc call METHOD key=value ...`: call a method known from Reflection.
 * Unary: the result is printed (JSON with `--json`). Producer: rows are
 * printed as their batches arrive (JSON lines with `--json`), with a
 * progress line on stderr when stderr is a terminal. Exchange: input
 * batches come from `--input` (JSON lines), and each output batch's rows
 * are printed as soon as it is answered. A stream header is printed first
 * (`{"__header__": {...}}` with `--json`). Server logs go to stderr. A
 * stream whose stdout reader goes away (`| head`) is cancelled and ends
 * with exit 0.
 */
import { Output } from '../src/service/stream-output.js';
import type { StreamSession } from '../src/client/connection.js';
import type { Fields } from '../src/types/record.js';
import { type ReflectedMethod, type ReflectedProtocol, callReflected, describeProtocol, openReflected } from '../src/client/reflected-client.js';
import type { ServerAddress } from './connect.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { type InputBatch, conformRows, inferInputSchema, inputBatches, inputFields, openInput } from './exchange-input.js';
import { parseAssignments } from './param-values.js';
import { jsonLine, readableRow, readableValue } from './render.js';
import { type Session, pickProtocol, printLog, withSession } from './session.js';
import { stdoutClosed, writeLine } from './stdout-lines.js';

/** What `call` was asked. */
export interface CallRequest {
  readonly address: ServerAddress;
  readonly protocol: string | undefined;
  readonly json: boolean;
  readonly method: string;
  readonly args: readonly string[];
  /** `--input` path (`-` for stdin), for exchanges. */
  readonly input: string | undefined;
}

const usage = (message: string): CliFailure => new CliFailure(ExitCode.usage, message);

/** A progress line on stderr, only when stderr is a terminal. */
const progress = () => {
  if (process.stderr.isTTY !== true) return { update: () => undefined, clear: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update: (batches: number, rows: number) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${batches} batches, ${rows} rows`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
};

/** The failure of a stream stopped by Ctrl-C (once it is cancelled). */
const interrupted = (): CliFailure => new CliFailure(ExitCode.interrupted, 'interrupted: the stream was cancelled');

/** Ctrl-C while a stream runs: the first one cancels the stream (the server closes it cleanly); a second one kills us. */
const interruptFlag = () => {
  const state = { interrupted: false };
  const onSigint = () => {
    state.interrupted = true;
    process.stderr.write('\ninterrupted: cancelling the stream (Ctrl-C again to quit at once)\n');
  };
  process.once('SIGINT', onSigint);
  return { state, dispose: () => process.off('SIGINT', onSigint) };
};

const printRows = async (rows: readonly Record<string, unknown>[], json: boolean): Promise<void> => {
  for (const r of rows) await writeLine(json ? jsonLine(r) : readableRow(r));
};

const printHeader = async (session: StreamSession<Fields>, json: boolean): Promise<void> => {
  if (session.header === undefined) return;
  await writeLine(json ? jsonLine({ __header__: session.header }) : `header: ${readableRow(session.header as Record<string, unknown>)}`);
};

const runUnary = async (s: Session, p: ReflectedProtocol, m: ReflectedMethod, params: Record<string, unknown>, json: boolean): Promise<void> => {
  const result = await callReflected(s.endpoint.conn, p, m, params, { onLog: printLog });
  if (json) await writeLine(jsonLine(result ?? null));
  else if (m.result !== undefined) await writeLine(readableValue(result));
};

const runProducer = async (s: Session, p: ReflectedProtocol, m: ReflectedMethod, params: Record<string, unknown>, json: boolean): Promise<void> => {
  const session = await openReflected(s.endpoint.conn, p, m, params, undefined, { onLog: printLog });
  const sigint = interruptFlag();
  const bar = progress();
  let batches = 0;
  let rows = 0;
  try {
    await printHeader(session, json);
    for (;;) {
      if (sigint.state.interrupted || stdoutClosed()) {
        await session.cancel();
        if (sigint.state.interrupted) throw interrupted();
        return;
      }
      const b = await session.tick();
      if (b === null) break;
      const r = b.rowsAsSent();
      batches++;
      rows += r.length;
      bar.clear();
      await printRows(r, json);
      bar.update(batches, rows);
    }
  } finally {
    bar.clear();
    sigint.dispose();
  }
};

/**
 * The exchange's input: a file is read whole (so its columns are inferred
 * from every line and every line is checked before the call); stdin is
 * read as it comes, its columns inferred from its first line.
 */
const exchangeInput = async (path: string) => {
  const batches = inputBatches(await openInput(path));
  if (path !== '-') {
    const all: InputBatch[] = [];
    for await (const b of batches) all.push(b);
    const schema = inferInputSchema(all);
    const rows = all.map((b) => conformRows(schema, b));
    return { schema, next: async () => rows.shift(), done: async () => undefined };
  }
  const it = batches[Symbol.asyncIterator]();
  const first = await it.next();
  const schema = inferInputSchema(first.done === true ? [] : [first.value]);
  let pending: InputBatch | undefined = first.done === true ? undefined : first.value;
  return {
    schema,
    next: async () => {
      const b = pending ?? (await it.next()).value as InputBatch | undefined;
      pending = undefined;
      return b === undefined ? undefined : conformRows(schema, b);
    },
    done: async () => void (await it.return?.(undefined)),
  };
};

const runExchange = async (s: Session, p: ReflectedProtocol, m: ReflectedMethod, params: Record<string, unknown>, json: boolean, inputPath: string): Promise<void> => {
  const input = await exchangeInput(inputPath);
  const session = await openReflected(s.endpoint.conn, p, m, params, inputFields(input.schema), { onLog: printLog });
  const sigint = interruptFlag();
  try {
    await printHeader(session, json);
    for (;;) {
      let rows: Record<string, unknown>[] | undefined;
      try {
        rows = await input.next();
      } catch (e) {
        // Bad input on stdin: end the stream cleanly before reporting it.
        await session.cancel().catch(() => undefined);
        throw e;
      }
      if (rows === undefined) break;
      if (sigint.state.interrupted || stdoutClosed()) {
        await session.cancel();
        if (sigint.state.interrupted) throw interrupted();
        return;
      }
      const out = await session.exchange(Output.rows(rows));
      await printRows(out.rowsAsSent(), json);
    }
    await session.close();
  } finally {
    sigint.dispose();
    await input.done();
  }
};

/** Call the method and print what it returns; failures carry their exit codes. */
export const runCall = (req: CallRequest): Promise<void> =>
  withSession(req.address, async (s) => {
    const p = await describeProtocol(s.endpoint.conn, pickProtocol(s.server, req.protocol), { onLog: printLog });
    const m = p.methods.find((x) => x.name === req.method);
    if (m === undefined) throw usage(`protocol ${p.name} has no method '${req.method}'; its methods: ${p.methods.map((x) => x.name).join(', ')}`);
    const params = parseAssignments(req.args, m.params, m.name);
    const exchange = m.kind === 'exchange' || (m.kind === 'stream' && req.input !== undefined);
    if (exchange && req.input === undefined) throw usage(`${m.name} is an exchange: give its input batches with --input FILE (JSON lines; - for stdin)`);
    if (!exchange && req.input !== undefined) throw usage(`--input is only for exchange methods; ${m.name} is ${m.kind === 'unary' ? 'unary' : 'a producer'}`);
    if (m.kind === 'unary') return runUnary(s, p, m, params, req.json);
    return exchange ? runExchange(s, p, m, params, req.json, req.input!) : runProducer(s, p, m, params, req.json);
  });
