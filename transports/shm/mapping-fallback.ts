/**
 * A stand-in for `mapping.ts` (the N-API mmap addon, built separately) with
 * the same exports, so the shared-memory transport can be built and tested
 * before the addon is merged: POSIX shared memory on Linux is a file in
 * /dev/shm, which this reads and writes with positioned fs calls instead of
 * mapping it. Its `bytes` is therefore a private copy, kept current through
 * `sync` (pull before reading a range, push after writing one), which the
 * segment code calls at every lockstep point; a real mapping has no `sync`.
 * Linux only; slower than a mapping (every pull and push is a syscall).
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, unlinkSync, writeSync, ftruncateSync } from 'node:fs';
import type { SegmentSync } from '../../src/wire/shm-segment.js';

/** A POSIX shared-memory object "mapped" into this process (here: a synced copy). */
export interface SharedMapping {
  /** The name as given by the caller (with or without a leading '/'). */
  readonly name: string;
  /** The whole object; length = the kernel-reported size. */
  readonly bytes: Uint8Array;
  /** Keeps `bytes` and the object in step (absent on a real mapping). */
  readonly sync?: SegmentSync;
  /** Release it (here: close the descriptor). Idempotent. */
  close(): void;
}

/** A failed shared-memory operation, with its errno code (e.g. 'ENOENT', 'EEXIST'). */
export class ShmMappingError extends Error {
  override readonly name = 'ShmMappingError';
  /** Error type written on the wire when this error is reported to a peer. */
  readonly errorType = 'ProtocolError';

  /** `code`: the errno name. */
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const DIR = '/dev/shm';

const pathOf = (name: string): string => {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare === '' || bare.includes('/') || bare === '.' || bare === '..') throw new ShmMappingError('EINVAL', `invalid shared-memory name ${JSON.stringify(name)}`);
  return `${DIR}/${bare}`;
};

const failed = (what: string, name: string, e: unknown): ShmMappingError => {
  const code = (e as { code?: unknown }).code;
  return new ShmMappingError(typeof code === 'string' ? code : 'EIO', `${what} shared memory ${JSON.stringify(name)}: ${(e as Error).message}`);
};

/** Whether shared memory can be used here (Linux with /dev/shm). */
export const shmAvailable = (): boolean => process.platform === 'linux' && existsSync(DIR);

const open = (name: string, fd: number, size: number): SharedMapping => {
  const bytes = new Uint8Array(size);
  let closed = false;
  const check = (offset: number, length: number): void => {
    if (closed) throw new ShmMappingError('EBADF', `shared memory ${JSON.stringify(name)} is closed`);
    if (offset < 0 || length < 0 || offset + length > size) throw new ShmMappingError('EINVAL', `range [${offset}, ${offset + length}) outside shared memory ${JSON.stringify(name)} of ${size} bytes`);
  };
  const sync: SegmentSync = {
    pull(offset, length) {
      check(offset, length);
      for (let done = 0; done < length;) {
        const n = readSync(fd, bytes, offset + done, length - done, offset + done);
        if (n === 0) throw new ShmMappingError('EIO', `shared memory ${JSON.stringify(name)} shrank under us`);
        done += n;
      }
    },
    push(offset, length) {
      check(offset, length);
      for (let done = 0; done < length;) done += writeSync(fd, bytes, offset + done, length - done, offset + done);
    },
  };
  return {
    name,
    bytes,
    sync,
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
};

/** Create the object `name` (mode 0600, must not exist) of `size` bytes. */
export const createMapping = (name: string, size: number): SharedMapping => {
  const path = pathOf(name);
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
  } catch (e) {
    throw failed('cannot create', name, e);
  }
  try {
    ftruncateSync(fd, size);
    return open(name, fd, fstatSync(fd).size);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(path); } catch { /* already gone */ }
    throw failed('cannot size', name, e);
  }
};

/** Open the existing object `name` at its whole (kernel-reported) size. */
export const attachMapping = (name: string): SharedMapping => {
  let fd: number;
  try {
    fd = openSync(pathOf(name), constants.O_RDWR);
  } catch (e) {
    throw failed('cannot attach', name, e);
  }
  try {
    return open(name, fd, fstatSync(fd).size);
  } catch (e) {
    closeSync(fd);
    throw failed('cannot attach', name, e);
  }
};

/** Remove the object `name`; a missing one is not an error. */
export const unlinkMapping = (name: string): void => {
  try {
    unlinkSync(pathOf(name));
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw failed('cannot unlink', name, e);
  }
};
