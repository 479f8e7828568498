/**
 * The /dev/shm stand-in for the mapping addon (transports/shm/mapping-fallback.ts)
 * and the client segments built on it (transports/shm/segments.ts): names
 * with or without '/', mode 0600, the kernel's size, two handles kept in
 * step through `sync`, and a client segment unlinked on close and when its
 * process exits or dies of an uncaught exception.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ShmMappingError, attachMapping, createMapping, shmAvailable, unlinkMapping } from '../../transports/shm/mapping-fallback.js';
import { createClientSegment } from '../../transports/shm/segments.js';
import { SHM_HEADER_SIZE, readSegmentHeader } from '../../src/wire/shm-segment.js';

const name = (tag: string) => `vgi_test_${process.pid}_${tag}`;

describe.skipIf(!shmAvailable())('the /dev/shm stand-in mapping', () => {
  it('creates mode 0600 at the given size, attaches with or without a leading slash, and keeps two handles in step through sync', () => {
    const n = name('a');
    const owner = createMapping(n, 100_000);
    try {
      expect(statSync(`/dev/shm/${n}`).mode & 0o777).toBe(0o600);
      expect(owner.bytes.byteLength).toBe(100_000);
      const peer = attachMapping(`/${n}`);
      expect(peer.name).toBe(`/${n}`);
      expect(peer.bytes.byteLength).toBe(100_000);
      owner.bytes.set([1, 2, 3], 500);
      owner.sync!.push(500, 3);
      peer.sync!.pull(500, 3);
      expect([...peer.bytes.subarray(500, 503)]).toEqual([1, 2, 3]);
      peer.close();
      peer.close(); // idempotent
      expect(() => peer.sync!.pull(0, 1)).toThrow(ShmMappingError);
    } finally {
      owner.close();
      unlinkMapping(n);
    }
    expect(existsSync(`/dev/shm/${n}`)).toBe(false);
    expect(() => unlinkMapping(n)).not.toThrow();
  });

  it('refuses an existing name, a missing one and a bad one with the errno code', () => {
    const n = name('b');
    const m = createMapping(n, 4096);
    try {
      expect(() => createMapping(n, 4096)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    } finally {
      m.close();
      unlinkMapping(n);
    }
    expect(() => attachMapping(n)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => attachMapping('a/b')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a client segment has a fresh psm_ name, a header for its size, and is unlinked on close', () => {
    const seg = createClientSegment({ size: SHM_HEADER_SIZE + 8192 });
    const file = `/dev/shm/${seg.channel.name}`;
    expect(seg.channel.name).toMatch(/^psm_[0-9a-f]{16}$/);
    const peer = attachMapping(seg.channel.name);
    peer.sync!.pull(0, SHM_HEADER_SIZE);
    expect(readSegmentHeader(peer.bytes)).toMatchObject({ magic: 'VGIS', version: 1, dataSize: 8192, numAllocs: 0 });
    peer.close();
    seg.close();
    seg.close();
    expect(existsSync(file)).toBe(false);
  });

  it('a client segment is unlinked when its process exits, or dies of an uncaught exception', () => {
    const module = fileURLToPath(new URL('../../dist/transports/shm/segments.js', import.meta.url));
    for (const end of ['process.exit(3)', 'throw new Error("boom")']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
        const { createClientSegment } = await import(${JSON.stringify(module)});
        const seg = createClientSegment({ size: ${SHM_HEADER_SIZE + 4096} });
        console.log(seg.channel.name);
        ${end};
      `], { encoding: 'utf8' });
      const created = r.stdout.trim();
      expect(created).toMatch(/^psm_/);
      expect(r.status).not.toBe(0);
      expect(existsSync(`/dev/shm/${created}`)).toBe(false);
    }
  });
});
