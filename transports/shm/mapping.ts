/**
 * POSIX shared-memory objects mapped into this process, through the project's small N-API addon
 * (native/shm, built by node-gyp at install). Node has no mmap of its own; where the addon did not
 * build (no C compiler, Windows), `shmAvailable()` is false and the other functions throw a
 * ShmMappingError with code 'ESHMUNAVAILABLE'.
 *
 * Names may be given with or without the leading '/', as the reference accepts them; a second '/'
 * or a name longer than NAME_MAX (255) is refused before any system call.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageName, packageRoot } from '../../runtime/package-root.js';

/** A POSIX shared-memory object mapped into this process (MAP_SHARED, read/write). */
export interface SharedMapping {
  /** The name as given by the caller (with or without a leading '/'). */
  readonly name: string;
  /** The whole mapping; length = the kernel-reported size (fstat), so page-rounded on attach. */
  readonly bytes: Uint8Array;
  /** munmap (the ArrayBuffer is detached first, so later access throws instead of faulting). Idempotent. */
  close(): void;
}

/**
 * A failed shared-memory operation. `code` is the errno name from the system call (ENOENT, EEXIST,
 * EACCES, ENOSPC, ...), EINVAL or ENAMETOOLONG for a refused name or size, ECLOSED for use of a
 * closed mapping, ESHMUNAVAILABLE where the addon is not loaded.
 */
export class ShmMappingError extends Error {
  override readonly name = 'ShmMappingError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Addon {
  create(name: string, size: number): ArrayBuffer;
  attach(name: string): ArrayBuffer;
  unmap(buffer: ArrayBuffer): void;
  unlink(name: string): boolean;
}

/** The addon's path inside the package. */
const addonFile = join('native', 'shm', 'build', 'Release', 'vgi_shm.node');

/** Names the addon's file explicitly (a bundled or relocated server whose package cannot be found). */
export const shmAddonEnv = 'VGI_RPC_SHM_ADDON';

/**
 * The addon named by VGI_RPC_SHM_ADDON when set (then only that file), else the one in the
 * package root (package-root.ts: found from this module's location, also when bundled, or from the
 * working directory).
 */
const loadAddon = (): { addon: Addon } | { reason: string } => {
  const named = process.env[shmAddonEnv];
  let file: string;
  if (named !== undefined && named !== '') {
    file = resolve(named);
    if (!existsSync(file)) return { reason: `${shmAddonEnv} names ${file}, which does not exist` };
  } else {
    const root = packageRoot();
    if (root === undefined) {
      return { reason: `the ${packageName} package was not found from ${fileURLToPath(import.meta.url)} nor from ${process.cwd()} (set ${shmAddonEnv} to the path of vgi_shm.node)` };
    }
    file = join(root, addonFile);
    if (!existsSync(file)) return { reason: `the native addon is not built (${file}; run \`npm run build:native\`)` };
  }
  try {
    return { addon: createRequire(import.meta.url)(file) as Addon };
  } catch (e) {
    return { reason: `the native addon did not load (${file}): ${e instanceof Error ? e.message : String(e)}` };
  }
};

let loaded: { addon: Addon } | { reason: string } | undefined;
const state = (): { addon: Addon } | { reason: string } => (loaded ??= loadAddon());

const addon = (): Addon => {
  const s = state();
  if ('reason' in s) throw new ShmMappingError('ESHMUNAVAILABLE', `shared memory is unavailable: ${s.reason}`);
  return s.addon;
};

/** Whether the native addon loaded (false: shm is unavailable, the servers answer transport.shm=false). */
export function shmAvailable(): boolean {
  return 'addon' in state();
}

/** Why shm is unavailable (for a diagnostic line), or undefined when it is available. */
export function shmUnavailableReason(): string | undefined {
  const s = state();
  return 'reason' in s ? s.reason : undefined;
}

/** NAME_MAX on Linux and the BSDs: the longest name a shared-memory object may have after its '/'. */
export const shmNameMax = 255;

/** Throws a ShmMappingError unless `name` is a usable shared-memory object name. */
export function checkShmName(name: string): void {
  if (typeof name !== 'string') throw new ShmMappingError('EINVAL', 'shm name must be a string');
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (Buffer.byteLength(bare) > shmNameMax) {
    throw new ShmMappingError('ENAMETOOLONG', `shm name is longer than ${shmNameMax} bytes: ${name.slice(0, 40)}...`);
  }
  if (bare === '' || bare === '.' || bare === '..' || bare.includes('/') || bare.includes('\0')) {
    throw new ShmMappingError('EINVAL', `bad shm name ${JSON.stringify(name)}: one optional leading '/' and no other`);
  }
}

/** Runs an addon call, turning its errors (plain Errors carrying an errno `code`) into ShmMappingError. */
const native = <T>(call: () => T): T => {
  try {
    return call();
  } catch (e) {
    if (e instanceof ShmMappingError) throw e;
    const code = (e as { code?: unknown }).code;
    throw new ShmMappingError(typeof code === 'string' ? code : 'EUNKNOWN', e instanceof Error ? e.message : String(e));
  }
};

const mapped = (name: string, buffer: ArrayBuffer, unmap: (b: ArrayBuffer) => void): SharedMapping => {
  let view: Uint8Array | undefined = new Uint8Array(buffer);
  return {
    name,
    get bytes(): Uint8Array {
      if (view === undefined) throw new ShmMappingError('ECLOSED', `shm mapping ${name} is closed`);
      return view;
    },
    close(): void {
      if (view === undefined) return;
      view = undefined;
      native(() => unmap(buffer));
    },
  };
};

/** shm_open(O_CREAT|O_EXCL|O_RDWR, 0600) + ftruncate(size) + mmap. The name may lack the leading '/'. */
export function createMapping(name: string, size: number): SharedMapping {
  checkShmName(name);
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new ShmMappingError('EINVAL', `shm size must be a positive integer, got ${String(size)}`);
  }
  const a = addon();
  return mapped(name, native(() => a.create(name, size)), (b) => a.unmap(b));
}

/** shm_open(O_RDWR) an existing object + fstat + mmap of its whole size. */
export function attachMapping(name: string): SharedMapping {
  checkShmName(name);
  const a = addon();
  return mapped(name, native(() => a.attach(name)), (b) => a.unmap(b));
}

/** shm_unlink; a missing name is not an error. */
export function unlinkMapping(name: string): void {
  checkShmName(name);
  const a = addon();
  native(() => a.unlink(name));
}
