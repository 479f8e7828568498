/**
 * The `vgi-rpc` command line, declared with @effect/cli: `describe` and
 * `call`, their flags and help (with the exit codes), and the run that maps
 * every outcome to an exit code. Loaded by `main.ts` once the optional
 * packages are known to be installed.
 */
import { readFileSync } from 'node:fs';
import { Args, CliConfig, Command, HelpDoc, Options, ValidationError } from '@effect/cli';
import * as Span from '@effect/cli/HelpDoc/Span';
import * as Cause from 'effect/Cause';
import * as Console from 'effect/Console';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Layer from 'effect/Layer';
import * as Option from 'effect/Option';
import { addressOf } from './connect.js';
import { runCall } from './call.js';
import { runDescribe } from './describe.js';
import { cliEnvironment } from './environment.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { watchStdout } from './stdout-lines.js';

const version = (): string => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
};

const cmd = Options.text('cmd').pipe(
  Options.withAlias('c'),
  Options.withPseudoName('COMMAND'),
  Options.withDescription('Start the server as a subprocess and speak vgi-rpc on its stdin/stdout; the command is split into words like a shell does (quotes, backslashes), without a shell.'),
  Options.optional,
);
const unix = Options.text('unix').pipe(Options.withPseudoName('PATH'), Options.withDescription('Connect to a server listening on this unix socket path.'), Options.optional);
const tcp = Options.text('tcp').pipe(Options.withPseudoName('[HOST:]PORT'), Options.withDescription('Connect to a server at [HOST:]PORT (host 127.0.0.1 by default; [v6] in brackets).'), Options.optional);
const url = Options.text('url').pipe(
  Options.withPseudoName('URL'),
  Options.withDescription("Call an HTTP server at this http:// or https:// URL (its path is the server's prefix): each call and stream turn is a request."),
  Options.optional,
);
const protocol = Options.text('protocol').pipe(
  Options.withAlias('p'),
  Options.withPseudoName('NAME'),
  Options.withDescription('The protocol to use; default: the only application protocol the server hosts.'),
  Options.optional,
);
const json = Options.boolean('json').pipe(Options.withDescription('Print JSON (describe: one document; call: one JSON value per line).'));
const input = Options.text('input').pipe(
  Options.withAlias('i'),
  Options.withPseudoName('FILE'),
  Options.withDescription('Exchange input: a JSON-lines file (- for stdin); each line is one input batch, a JSON object (one row) or an array of objects (rows).'),
  Options.optional,
);

const server = { cmd, unix, tcp, url, protocol, json };
type ServerFlags = { cmd: Option.Option<string>; unix: Option.Option<string>; tcp: Option.Option<string>; url: Option.Option<string>; protocol: Option.Option<string>; json: boolean };

const flagsOf = (o: ServerFlags) => ({
  address: addressOf({ cmd: Option.getOrUndefined(o.cmd), unix: Option.getOrUndefined(o.unix), tcp: Option.getOrUndefined(o.tcp), url: Option.getOrUndefined(o.url) }),
  protocol: Option.getOrUndefined(o.protocol),
  json: o.json,
});

const step = <A>(run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (e) => (e instanceof CliFailure ? e : new CliFailure(ExitCode.internal, `internal error: ${String(e)}`)) });

const describe = Command.make('describe', server, (o) => step(() => runDescribe(flagsOf(o)))).pipe(
  Command.withDescription('Print the protocols the server hosts and their methods: kind (unary/producer/exchange), parameters and result types, header columns.'),
);

const call = Command.make(
  'call',
  { ...server, input, method: Args.text({ name: 'METHOD' }).pipe(Args.withDescription('The method to call (see describe).')),
    params: Args.text({ name: 'key=value' }).pipe(Args.withDescription('A parameter: key=value, or key:=JSON.'), Args.repeated),
  },
  (o) => step(() => runCall({ ...flagsOf(o), method: o.method, args: o.params, input: Option.getOrUndefined(o.input) })),
).pipe(
  Command.withDescription(
    'Call METHOD with key=value parameters, read by the declared Arrow type: integers decimal (int64 exact), floats (also nan/inf), ' +
    'booleans true/false, strings as written, binary as hex:0a0b or base64:CgsM (other text: its UTF-8 bytes), date32 YYYY-MM-DD, ' +
    'timestamps ISO-8601 or microseconds; lists, maps and structs as JSON. key:=JSON gives any value as JSON (n:=5, s:=null, ' +
    'xs:=[1,2]). Parameters left out are sent as null: the server applies its default.',
  ),
);

const root = Command.make('vgi-rpc').pipe(
  Command.withDescription('Describe and call any vgi-rpc server (RPC over Apache Arrow IPC) over a subprocess, a unix socket, TCP or HTTP.'),
  Command.withSubcommands([describe, call]),
);

const exitCodes: [number, string][] = [
  [ExitCode.ok, 'success'],
  [ExitCode.rpcError, 'the server answered with an error (RPC error)'],
  [ExitCode.usage, 'usage error: flags, arguments, unknown protocol/method/parameter, a value that does not parse'],
  [ExitCode.dataError, 'bad exchange input data'],
  [ExitCode.noInput, 'the --input file cannot be read'],
  [ExitCode.unavailable, 'server unavailable: the command does not start, the socket is missing or refused, no vgi-rpc server answers at the URL, the connection is lost'],
  [ExitCode.internal, 'internal error'],
  [ExitCode.protocol, "the server's answer is not valid vgi-rpc"],
  [ExitCode.missingPackages, 'the optional packages the CLI needs are not installed'],
  [ExitCode.interrupted, 'a stream was interrupted with Ctrl-C (and cancelled)'],
];

const footer = HelpDoc.blocks([
  HelpDoc.h1('EXIT CODES'),
  HelpDoc.p(Span.text(exitCodes.map(([code, what]) => `${String(code).padEnd(4)}${what}`).join('\n'))),
]);

const cli = Command.run(root, { name: 'vgi-rpc', version: version(), footer });

const ANSI = /\x1b\[[0-9;]*m/g;

/** @effect/cli prints help and errors through Console with ANSI styles: keep them for terminals only. */
const plainWhenPiped = (c: Console.Console): Console.Console => {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const strip = (tty: boolean | undefined) => (args: readonly unknown[]) =>
    tty === true && !noColor ? args : args.map((a) => (typeof a === 'string' ? a.replace(ANSI, '') : a));
  const out = strip(process.stdout.isTTY);
  const err = strip(process.stderr.isTTY);
  return { ...c, log: (...args) => c.log(...out(args)), error: (...args) => c.error(...err(args)) };
};

/** Help shows this CLI's own flags; @effect/cli's built-ins (--wizard, --completions, --log-level) still work. */
const config = CliConfig.layer({ showBuiltIns: false });

/** Run the command line; resolves with the process exit code. */
export const main = async (argv: readonly string[]): Promise<number> => {
  watchStdout();
  const program = Effect.flatMap(Effect.console, (c) => Effect.withConsole(cli(argv), plainWhenPiped(c)));
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(Layer.merge(cliEnvironment, config))));
  if (Exit.isSuccess(exit)) return ExitCode.ok;
  const failure = Cause.failureOption(exit.cause);
  if (Option.isSome(failure)) {
    const e = failure.value;
    if (e instanceof CliFailure) {
      process.stderr.write(`vgi-rpc: ${e.message}\n`);
      return e.code;
    }
    // @effect/cli has printed what was wrong with the command line.
    if (ValidationError.isValidationError(e)) return ExitCode.usage;
  }
  process.stderr.write(`vgi-rpc: internal error: ${Cause.pretty(exit.cause)}\n`);
  return ExitCode.internal;
};
