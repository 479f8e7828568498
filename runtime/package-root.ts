/**
 * Where the installed `vgi-rpc-actors` package is on disk, for the files that must be loaded by
 * path rather than imported: the shm addon (native/shm/build/Release/vgi_shm.node), the segment
 * tracker script (dist/transports/shm/segment-tracker.js) and the worker loader
 * (dist/runtime/worker-loader.cjs).
 *
 * Unbundled, this module sits inside the package, so walking up from it finds the package root.
 * Bundled into an application's file (esbuild), `import.meta.url` is the bundle's location, which
 * holds none of them: the package is then resolved as a dependency, first from the bundle's
 * location, then from the working directory (a bundle run from outside its project).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's name, as its package.json spells it (and as applications depend on it). */
export const packageName = 'vgi-rpc-actors';

/** Whether `dir` holds this package's package.json. */
const isPackageRoot = (dir: string): boolean => {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === packageName;
  } catch {
    return false;
  }
};

/** The nearest directory at or above `dir` that is this package's root. */
const walkUp = (dir: string): string | undefined => {
  const top = parse(dir).root;
  for (let at = dir; ; at = dirname(at)) {
    if (isPackageRoot(at)) return at;
    if (at === top) return undefined;
  }
};

/** The package resolved as a dependency from `base` (a file URL or a directory's path). */
const resolvedFrom = (base: string): string | undefined => {
  try {
    return dirname(createRequire(base).resolve(`${packageName}/package.json`));
  } catch {
    return undefined;
  }
};

/**
 * The package root as seen from a module at `moduleUrl` run in `cwd`: the nearest enclosing
 * package root, else the package resolved from the module's location, else from `cwd`; undefined
 * when none is found. The parameters exist for tests; callers pass nothing.
 */
export const findPackageRoot = (moduleUrl: string = import.meta.url, cwd: string = process.cwd()): string | undefined => {
  const moduleDir = dirname(fileURLToPath(moduleUrl));
  return walkUp(moduleDir) ?? resolvedFrom(moduleUrl) ?? resolvedFrom(pathToFileURL(join(cwd, 'noop.js')).href);
};

let cached: { readonly root: string | undefined } | undefined;

/** findPackageRoot() for this module, computed once per thread. */
export const packageRoot = (): string | undefined => (cached ??= { root: findPackageRoot() }).root;

/**
 * A built file of this package: `beside` (next to the calling module, which
 * is in dist/ when unbundled) when it exists, else `distPath` under the
 * package root's dist/ (a module run from source in tests, or bundled into
 * an application's file); undefined when neither exists.
 */
export const builtFile = (beside: URL, ...distPath: string[]): string | undefined => {
  if (beside.protocol === 'file:' && existsSync(beside)) return fileURLToPath(beside);
  const root = packageRoot();
  const installed = root === undefined ? undefined : join(root, 'dist', ...distPath);
  return installed !== undefined && existsSync(installed) ? installed : undefined;
};
