/**
 * The native shared-memory layer: POSIX objects mapped MAP_SHARED and seen by another process,
 * created 0600, sized by the kernel, detached on close, and typed errors for bad names. Linux only
 * (the assertions read /dev/shm); there the addon must be built, so a missing build fails here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ShmMappingError,
  attachMapping,
  createMapping,
  shmAvailable,
  shmUnavailableReason,
  unlinkMapping,
} from '../../../transports/shm/mapping.js';
import { newSegmentName } from '../../../transports/shm/owned-segments.js';
import { staleOutputs } from '../../support/stale-build.js';

const PEER = fileURLToPath(new URL('../../../dist/test/fixtures/shm-peer.js', import.meta.url));
const BUILT_MAPPING = new URL('../../../dist/transports/shm/mapping.js', import.meta.url).href;
const linux = process.platform === 'linux';
const made: string[] = [];

/** A fresh name for this test, removed afterwards whatever happens. */
const fresh = (): string => {
  const name = newSegmentName();
  made.push(name);
  return name;
};

afterEach(() => {
  for (const name of made.splice(0)) unlinkMapping(name);
});

describe.skipIf(!linux)('shared mappings', () => {
  it('the addon is built and loads', () => {
    expect(shmUnavailableReason()).toBeUndefined();
    expect(shmAvailable()).toBe(true);
    expect(staleOutputs('test/fixtures/shm-peer.ts')).toEqual([]);
  });

  it('another process attaches by name and its writes are seen here, and ours there', () => {
    const name = fresh();
    const mine = createMapping(name, 1 << 20);
    mine.bytes.fill(7);
    mine.bytes.set([1, 2, 3], 100);
    // The peer writes at an offset in the middle and at the very end of the mapping.
    const out = execFileSync(process.execPath, [PEER, 'attach', `/${name}`, String(500_000), 'cafebabe'], { encoding: 'utf8' });
    expect(out.trim()).toBe(`WROTE ${1 << 20}`);
    execFileSync(process.execPath, [PEER, 'attach', name, String((1 << 20) - 2), 'beef']);
    expect([...mine.bytes.subarray(500_000, 500_004)]).toEqual([0xca, 0xfe, 0xba, 0xbe]);
    expect([...mine.bytes.subarray((1 << 20) - 2)]).toEqual([0xbe, 0xef]);
    expect(mine.bytes[499_999]).toBe(7);
    // What we wrote before the peer attached is in the object: a second mapping of ours sees it too.
    const again = attachMapping(name);
    expect([...again.bytes.subarray(100, 103)]).toEqual([1, 2, 3]);
    again.bytes[0] = 99;
    expect(mine.bytes[0]).toBe(99);
    again.close();
    mine.close();
  });

  it('a worker thread loads the addon too, attaches and writes', async () => {
    const name = fresh();
    const mine = createMapping(name, 4096);
    mine.bytes[0] = 77;
    const worker = new Worker(
      `import(${JSON.stringify(BUILT_MAPPING)}).then((m) => {
        const a = m.attachMapping(${JSON.stringify(name)});
        const seen = a.bytes[0];
        a.bytes[1] = 88;
        a.close();
        require('node:worker_threads').parentPort.postMessage(seen);
      });`,
      { eval: true },
    );
    const seen = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(seen).toBe(77);
    expect(mine.bytes[1]).toBe(88);
    mine.close();
  });

  it('creates the object with mode 0600 whatever the umask', () => {
    const old = process.umask(0);
    try {
      const name = fresh();
      const m = createMapping(name, 4096);
      expect(statSync(`/dev/shm/${name}`).mode & 0o777).toBe(0o600);
      m.close();
    } finally {
      process.umask(old);
    }
  });

  it('attach maps the size the kernel reports for the object, create the size asked for', () => {
    const name = fresh();
    const m = createMapping(name, 10_000);
    const kernelSize = statSync(`/dev/shm/${name}`).size;
    // tmpfs reports the ftruncate size itself (macOS would round it up to a page).
    expect(m.bytes.length).toBe(kernelSize);
    const a = attachMapping(`/${name}`);
    expect(a.name).toBe(`/${name}`);
    expect(a.bytes.length).toBe(kernelSize);
    a.close();
    m.close();
  });

  it('close detaches: the bytes getter throws, a kept view is empty and refuses writes, no fault', () => {
    const name = fresh();
    const m = createMapping(name, 65_536);
    const kept = m.bytes;
    kept[10] = 5;
    m.close();
    m.close();
    expect(() => m.bytes).toThrowError(expect.objectContaining({ name: 'ShmMappingError', code: 'ECLOSED' }));
    expect(kept.length).toBe(0);
    expect(kept.buffer.byteLength).toBe(0);
    expect(kept[10]).toBeUndefined();
    expect(() => kept.set([1], 0)).toThrow(TypeError);
    expect(() => Buffer.from(kept.buffer).readUInt8(0)).toThrow();
    // The object itself is intact.
    const a = attachMapping(name);
    expect(a.bytes[10]).toBe(5);
    a.close();
  });

  it('unlink removes the name; unlinking a missing name is fine; attach of a missing name is ENOENT', () => {
    const name = fresh();
    createMapping(name, 4096).close();
    expect(existsSync(`/dev/shm/${name}`)).toBe(true);
    unlinkMapping(name);
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(() => unlinkMapping(name)).not.toThrow();
    expect(() => unlinkMapping(`/${name}`)).not.toThrow();
    expect(() => attachMapping(name)).toThrowError(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('create of an existing name is EEXIST and leaves the existing object alone', () => {
    const name = fresh();
    const m = createMapping(name, 4096);
    m.bytes[0] = 42;
    expect(() => createMapping(`/${name}`, 8192)).toThrowError(expect.objectContaining({ code: 'EEXIST' }));
    expect(statSync(`/dev/shm/${name}`).size).toBe(4096);
    expect(m.bytes[0]).toBe(42);
    m.close();
  });

  it('bad names and sizes are typed errors, before any object is made', () => {
    const bad: Array<[string, string]> = [
      ['', 'EINVAL'],
      ['/', 'EINVAL'],
      ['a/b', 'EINVAL'],
      ['//a', 'EINVAL'],
      ['..', 'EINVAL'],
      ['a\0b', 'EINVAL'],
      ['x'.repeat(256), 'ENAMETOOLONG'],
      [`/${'x'.repeat(256)}`, 'ENAMETOOLONG'],
    ];
    for (const [name, code] of bad) {
      for (const op of [() => createMapping(name, 4096), () => attachMapping(name), () => unlinkMapping(name)]) {
        let caught: unknown;
        try {
          op();
        } catch (e) {
          caught = e;
        }
        expect(caught, JSON.stringify(name)).toBeInstanceOf(ShmMappingError);
        expect((caught as ShmMappingError).code, JSON.stringify(name)).toBe(code);
      }
    }
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => createMapping(fresh(), size)).toThrowError(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(made.filter((n) => existsSync(`/dev/shm/${n}`))).toEqual([]);
  });
});
