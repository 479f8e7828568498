/**
 * The services @effect/cli needs (Terminal, FileSystem, Path), built from
 * @effect/platform's own pieces and Node built-ins rather than from
 * @effect/platform-node, whose dependency tree (a file watcher, WebSocket
 * add-ons) has install scripts and is far larger than what a command line
 * parser uses. The CLI reads files itself, so the file system offers only
 * what @effect/cli's own helpers may ask (existence and reads).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { emitKeypressEvents, createInterface } from 'node:readline';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Layer from 'effect/Layer';
import * as Mailbox from 'effect/Mailbox';
import * as Option from 'effect/Option';
import * as Terminal from '@effect/platform/Terminal';
import * as FileSystem from '@effect/platform/FileSystem';
import * as Path from '@effect/platform/Path';
import { SystemError } from '@effect/platform/Error';

const readError = (method: string, path: string, cause: unknown) =>
  new SystemError({ reason: 'NotFound', module: 'FileSystem', method, pathOrDescriptor: path, cause });

/** Keyboard input as @effect/cli's prompts read it (only reached by `--wizard`). */
const readInput = Effect.gen(function* () {
  const mailbox = yield* Mailbox.make<Terminal.UserInput>();
  const stdin = process.stdin;
  emitKeypressEvents(stdin);
  const raw = stdin.isTTY === true;
  const onKey = (input: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean; shift?: boolean } | undefined) => {
    const k = { name: key?.name ?? '', ctrl: key?.ctrl === true, meta: key?.meta === true, shift: key?.shift === true };
    if (k.ctrl && k.name === 'c') mailbox.unsafeDone(Exit.void);
    else mailbox.unsafeOffer({ input: Option.fromNullable(input), key: k });
  };
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      if (raw) stdin.setRawMode(true);
      stdin.on('keypress', onKey);
      stdin.resume();
    }),
    () => Effect.sync(() => {
      stdin.off('keypress', onKey);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
    }),
  );
  return mailbox as Mailbox.ReadonlyMailbox<Terminal.UserInput>;
});

const readLine = Effect.async<string, Terminal.QuitException>((resume) => {
  const rl = createInterface({ input: process.stdin });
  let done = false;
  rl.once('line', (line) => {
    done = true;
    rl.close();
    resume(Effect.succeed(line));
  });
  rl.once('close', () => {
    if (!done) resume(Effect.fail(new Terminal.QuitException()));
  });
  return Effect.sync(() => rl.close());
});

const terminal: Terminal.Terminal = {
  columns: Effect.sync(() => process.stdout.columns ?? 80),
  rows: Effect.sync(() => process.stdout.rows ?? 24),
  isTTY: Effect.sync(() => process.stdout.isTTY === true),
  readInput,
  readLine,
  display: (text) => Effect.sync(() => void process.stdout.write(text)),
};

const fileSystem = FileSystem.layerNoop({
  exists: (path) => Effect.sync(() => existsSync(path)),
  readFile: (path) => Effect.tryPromise({ try: () => readFile(path), catch: (e) => readError('readFile', path, e) }),
  readFileString: (path, encoding) =>
    Effect.tryPromise({ try: () => readFile(path, { encoding: (encoding ?? 'utf8') as BufferEncoding }), catch: (e) => readError('readFileString', path, e) }),
});

/** Terminal, FileSystem and Path for running an @effect/cli application on Node. */
export const cliEnvironment: Layer.Layer<Terminal.Terminal | FileSystem.FileSystem | Path.Path> = Layer.mergeAll(
  Layer.succeed(Terminal.Terminal, terminal),
  fileSystem,
  Path.layer,
);
