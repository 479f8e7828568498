#!/usr/bin/env node
/**
 * The `vgi-rpc` bin. The command line parser and its platform packages are
 * optional peer dependencies of this package (a plain install of the
 * library must not pull them in: @effect/platform brings msgpackr, whose
 * optional native add-on has an install script), so this entry loads them
 * first and, when one is missing, names what to install and exits 78
 * (EX_CONFIG) instead of failing with a module-resolution stack trace.
 */
import { ExitCode } from './exit-codes.js';

/**
 * The optional packages the CLI needs, the versions it is built against, and
 * a module of each that the CLI uses.
 */
const REQUIRED = [
  ['@effect/cli', '^0.77.2', '@effect/cli'],
  ['@effect/platform', '^0.97.2', '@effect/platform/Terminal'],
  ['@effect/printer', '^0.51.0', '@effect/printer/Doc'],
  ['@effect/printer-ansi', '^0.51.0', '@effect/printer-ansi/AnsiDoc'],
] as const;

/** Errors that mean "a package is not installed (or is not a version with that module)". */
const NOT_LOADABLE = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);

const installLine = `npm install ${REQUIRED.map(([n, r]) => `${n}@${r}`).join(' ')}`;

const refuse = (what: string): void => {
  process.stderr.write(`vgi-rpc: ${what}\nInstall them next to this package: ${installLine}\n`);
  process.exitCode = ExitCode.missingPackages;
};

// Resolve each package first, so the message names exactly the missing ones
// (loading @effect/cli without @effect/printer would blame @effect/cli too).
const missing = REQUIRED.filter(([, , probe]) => {
  try {
    import.meta.resolve(probe);
    return false;
  } catch {
    return true;
  }
}).map(([name, range]) => `${name}@${range}`);

if (missing.length > 0) {
  refuse(`the command line needs optional packages that are not installed: ${missing.join(', ')}.`);
} else {
  let app: typeof import('./app.js') | undefined;
  try {
    app = await import('./app.js');
  } catch (e) {
    if (!NOT_LOADABLE.has(String((e as { code?: unknown } | null)?.code))) throw e;
    refuse(`the command line's packages do not load: ${(e as Error).message}`);
  }
  if (app !== undefined) process.exitCode = await app.main(process.argv);
}
