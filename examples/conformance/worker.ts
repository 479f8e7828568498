#!/usr/bin/env node
/**
 * Conformance worker CLI:
 *
 *   node dist/examples/conformance/worker.js [--stdio] [--generation 89|90]
 *
 * Hosts ConformanceService, then conformance.Secondary.v1 (Reflection is
 * added by the runtime). With no transport flag it serves stdio: requests on
 * stdin, nothing but Arrow IPC on stdout, diagnostics on stderr.
 * `--generation 89` hosts the peer-era definition (no `published_string`).
 * Unknown flags print the usage to stderr and exit 64 (EX_USAGE).
 */
import { Layer } from 'effect';
import { runStdioServer } from '../../transports/pipe/stdio-main.js';
import { SecondaryLive, SecondaryService } from './secondary.js';
import { ConformanceService, ConformanceService89, conformance89Layer, conformanceLayer } from './service.js';

/** Exit code for a command-line usage error (sysexits EX_USAGE). */
export const EX_USAGE = 64;

/** The usage text. */
export const USAGE = `usage: conformance-worker [--stdio] [--generation 89|90]

  (no transport flag)  serve on stdin/stdout (default)
  --stdio              the same, explicitly
  --generation 89|90   ConformanceService generation to host (default 90;
                       89 = the npm peer era, without published_string)
`;

/** Where the worker listens. Later transports add a variant here and a branch in `serve`. */
export type Listen = { readonly kind: 'stdio' };
// Planned: | { kind: 'http'; ... } | { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number }

/** Parsed command line. */
export interface WorkerArgs {
  readonly listen: Listen;
  readonly generation: 89 | 90;
}

/** Parse argv (without node and script); returns an error message for a usage error. */
export const parseArgs = (argv: readonly string[]): WorkerArgs | { readonly error: string } => {
  let listen: Listen = { kind: 'stdio' };
  let generation: 89 | 90 = 90;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--stdio':
        listen = { kind: 'stdio' };
        break;
      case '--generation': {
        const v = argv[++i];
        if (v !== '89' && v !== '90') return { error: `--generation expects 89 or 90, got ${v ?? 'nothing'}` };
        generation = v === '89' ? 89 : 90;
        break;
      }
      // Later: case '--http': case '--unix': case '--tcp': set `listen` here.
      default:
        return { error: `unknown flag: ${arg}` };
    }
  }
  return { listen, generation };
};

const serve = async (args: WorkerArgs): Promise<void> => {
  switch (args.listen.kind) {
    case 'stdio':
      if (args.generation === 89) await runStdioServer({ services: [ConformanceService89, SecondaryService], layer: Layer.merge(conformance89Layer(), SecondaryLive) });
      else await runStdioServer({ services: [ConformanceService, SecondaryService], layer: Layer.merge(conformanceLayer(), SecondaryLive) });
      return;
  }
};

const parsed = parseArgs(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`conformance-worker: ${parsed.error}\n${USAGE}`);
  process.exitCode = EX_USAGE;
} else {
  await serve(parsed);
}
