/**
 * Client segments (transports/shm/segments.ts): a fresh owned name, a header
 * for the mapping's size that another mapping of the name reads, the bytes
 * our client writes read back off /dev/shm by an independent DataView reader,
 * and the segment unlinked on close and when its process exits or dies of an
 * uncaught exception.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as A from 'apache-arrow';
import { StreamEncoder } from '../../../src/wire/batch-encoder.js';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { attachMapping, shmAvailable } from '../../../transports/shm/mapping.js';
import { createClientSegment } from '../../../transports/shm/segments.js';
import { SHM_HEADER_SIZE, readSegmentHeader } from '../../../src/wire/shm-segment.js';

describe.skipIf(!shmAvailable())('client segments', () => {
  it('a client segment has a fresh owned name, a header for its size, and is unlinked on close', () => {
    const seg = createClientSegment({ size: SHM_HEADER_SIZE + 8192 });
    const file = `/dev/shm/${seg.channel.name}`;
    expect(seg.channel.name).toMatch(new RegExp(`^vgi_${process.pid}_[0-9a-f]{16}$`));
    const peer = attachMapping(seg.channel.name);
    expect(readSegmentHeader(peer.bytes)).toMatchObject({ magic: 'VGIS', version: 1, dataSize: 8192, numAllocs: 0 });
    peer.close();
    seg.close();
    seg.close();
    expect(existsSync(file)).toBe(false);
  });

  it('a segment written by our client reads back, from /dev/shm, through an independent DataView reader', () => {
    const seg = createClientSegment({ size: SHM_HEADER_SIZE + 1024 * 1024, minBatchBytes: 0 });
    try {
      const values = Float64Array.from({ length: 1000 }, (_, i) => i / 4);
      const batch = new A.Table({ v: A.makeVector(values) }).batches[0]!;
      const enc = new StreamEncoder(batch.schema);
      const region = seg.channel.writeBatch(enc, [], batch.numRows, batch.data.children)!;
      // Independent of our codec: the header layout from the wire doc, read off the file the kernel holds.
      const file = readFileSync(`/dev/shm/${seg.channel.name}`);
      const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
      expect(file.subarray(0, 4).toString('latin1')).toBe('VGIS');
      expect(dv.getUint32(4, true)).toBe(1);
      expect(Number(dv.getBigUint64(8, true))).toBe(file.byteLength - 65536);
      expect(dv.getUint32(16, true)).toBe(1);
      expect(dv.getUint32(20, true)).toBe(0);
      expect(Number(dv.getBigUint64(24, true))).toBe(region.offset);
      const reserved = Number(dv.getBigUint64(32, true));
      expect(reserved).toBeGreaterThanOrEqual(region.length);
      // The region: a whole IPC stream (continuation marker first, EOS last) whose body holds the values.
      const at = region.offset;
      expect(dv.getUint32(at, true)).toBe(0xffffffff);
      expect([...file.subarray(at + region.length - 8, at + region.length)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
      const raw = Buffer.from(values.buffer);
      expect(file.subarray(at, at + region.length).indexOf(raw)).toBeGreaterThan(0);
    } finally {
      seg.close();
    }
  });

  it('a client segment is unlinked when its process exits, or dies of an uncaught exception', () => {
    const module = fileURLToPath(new URL('../../../dist/transports/shm/segments.js', import.meta.url));
    for (const end of ['process.exit(3)', 'throw new Error("boom")']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
        const { createClientSegment } = await import(${JSON.stringify(module)});
        const seg = createClientSegment({ size: ${SHM_HEADER_SIZE + 4096} });
        console.log(seg.channel.name);
        ${end};
      `], { encoding: 'utf8' });
      const created = r.stdout.trim();
      expect(created).toMatch(/^vgi_\d+_/);
      expect(r.status).not.toBe(0);
      expect(existsSync(`/dev/shm/${created}`)).toBe(false);
    }
  });
});
