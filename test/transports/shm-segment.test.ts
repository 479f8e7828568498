/**
 * The reference's cross-process shared-memory transport on our byte-stream
 * servers: the client owns a segment and names it on every request; large
 * batches travel through it both ways (counted on the client's channel and
 * checked against the segment's allocation table); the server attaches on
 * first sight, re-attaches on a new name, resolves a request that is itself
 * a pointer, and answers an unresolvable pointer with a typed error while
 * the connection keeps serving. Runs the compiled conformance worker: build
 * first.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Output, RpcConnection } from '../../src/index.js';
import { encodeRequest } from '../../src/client/request-encoding.js';
import { segmentMetadata, type ClientSegment } from '../../src/client/client-shm.js';
import { Keys, TRANSPORT_OPTIONS_METHOD } from '../../src/wire/metadata-keys.js';
import { SHM_HEADER_SIZE } from '../../src/wire/shm-segment.js';
import { emptySchema } from '../../src/service/method.js';
import { open } from '../../transports/connect.js';
import { createClientSegment, segmentsAvailable } from '../../transports/shm/segments.js';
import { ConformanceService } from '../../examples/conformance/service.js';
import { readResponse, requestBytes } from '../support/raw-exchange.js';
import { spawnFirstLine } from '../support/first-line.js';

const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));
const SIZE = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
const target = { protocol: ConformanceService.name, protocolVersion: ConformanceService.version };

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const segmentFile = (seg: ClientSegment): string => `/dev/shm/${seg.channel.name}`;

/** Every call kind through the segment on `conn`, checking the pointers counted and that every region is freed. */
const exercise = async (conn: RpcConnection): Promise<void> => {
  const seg = conn.segment!;
  const svc = Client.promises(ConformanceService, conn);
  const counts = seg.channel.counts;
  const data = bytes(MiB, 7);
  const echoed = await svc.echo_bytes({ data });
  expect(Buffer.from(echoed).equals(Buffer.from(data))).toBe(true);
  // The request went out as a pointer and the result came back as one.
  expect(counts).toEqual({ written: 1, resolved: 1 });
  expect(seg.channel.allocator.allocations()).toEqual([]);

  // Small calls stay on the byte stream.
  expect(await svc.echo_string({ value: 'tiny' })).toBe('tiny');
  expect(counts).toEqual({ written: 1, resolved: 1 });

  // A producer of large batches: each one resolved from the segment.
  let rows = 0;
  for await (const b of await svc.produce_large_batches({ rows_per_batch: 20_000n, batch_count: 4n })) rows += b.numRows;
  expect(rows).toBe(80_000);
  expect(counts.resolved).toBe(1 + 4);
  expect(seg.channel.allocator.allocations()).toEqual([]);

  // An exchange of large batches both ways; the server frees each input when the next arrives, the last before its EOS.
  const session = await svc.exchange_scale({ factor: 2 });
  for (let i = 0; i < 3; i++) {
    const value = Float64Array.from({ length: 20_000 }, (_, k) => k + i);
    const out = await session.exchange(Output.columns({ value }));
    expect(out.numRows).toBe(20_000);
    expect(out.values('value')[19_999]).toBe(2 * (19_999 + i));
  }
  await session.close();
  expect(counts).toEqual({ written: 1 + 3, resolved: 5 + 3 });
  expect(seg.channel.allocator.allocations()).toEqual([]);
};

describe.skipIf(!segmentsAvailable())('shared-memory segments over byte streams', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('subprocess (stdio, calls on the main thread): every call kind through the segment; closed and unlinked with the connection', async () => {
    const conn = await open({ command: [process.execPath, WORKER], shm: { size: SIZE } });
    const seg = conn.segment!;
    expect(existsSync(segmentFile(seg))).toBe(true);
    try {
      await exercise(conn);
    } finally {
      await conn.close();
    }
    expect(existsSync(segmentFile(seg))).toBe(false);
  });

  it('stdio with --workers 1 (the connection relayed to a worker thread): every call kind through the segment', async () => {
    const conn = await open({ command: [process.execPath, WORKER, '--workers', '1'], shm: { size: SIZE } });
    try {
      await exercise(conn);
    } finally {
      await conn.close();
    }
  });

  it('__transport_options__ answers shm=true with the server id and request version, before routing', async () => {
    const conn = await open({ command: [process.execPath, WORKER] });
    try {
      const reply = await (async () => {
        await conn.transport.write(requestBytes(emptySchema(), [], 0, { [Keys.method]: TRANSPORT_OPTIONS_METHOD, [Keys.requestVersion]: '1' }));
        return readResponse(conn.transport);
      })();
      expect(reply.schema.fields).toEqual([]);
      expect(reply.batches.length).toBe(1);
      const md = reply.batches[0]!.metadata!;
      expect(md.get(Keys.transportShm)).toBe('true');
      expect(md.get(Keys.requestVersion)).toBe('1');
      expect(md.get(Keys.serverId)).toMatch(/^[0-9a-f]{12}$/);
    } finally {
      await conn.close();
    }
  });

  it('pointer requests: refused with a typed error without a segment or out of bounds, resolved after attach, re-attached on a new name; the connection keeps serving', async () => {
    // A connection whose client library owns no segment: every request below is hand-built.
    const conn = await open({ command: [process.execPath, WORKER] });
    const a = createClientSegment({ size: SIZE });
    const b = createClientSegment({ size: SIZE });
    const svc = Client.promises(ConformanceService, conn);
    const echo = ConformanceService.methods.echo_bytes;
    const pointerRequest = (seg: ClientSegment, named: boolean, data: Uint8Array): Uint8Array[] => {
      const out: Uint8Array[] = [];
      encodeRequest(out, target, 'echo_bytes', echo, { data }, undefined, { metadata: named ? segmentMetadata(seg) : new Map(), channel: seg.channel });
      return out;
    };
    const call = async (chunks: Uint8Array[]) => {
      await conn.transport.write(chunks);
      return readResponse(conn.transport);
    };
    try {
      // A pointer on a connection that never named a segment.
      const noSegment = await call(pointerRequest(a, false, bytes(MiB, 1)));
      const err = noSegment.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION')!;
      expect(err.meta(Keys.logMessage)).toMatch(/^ProtocolError: .*shared-memory pointer.*no segment attached/);
      expect(await svc.echo_string({ value: 'still serving' })).toBe('still serving');
      a.channel.allocator.reset();

      // Named: attached on first sight, request resolved, answer written into segment a.
      const data = bytes(MiB, 2);
      const viaA = await call(pointerRequest(a, true, data));
      const ptrA = viaA.batches[0]!;
      expect(ptrA.numRows).toBe(0);
      const gotA = a.channel.resolve(ptrA);
      gotA.release();
      expect(Buffer.from(gotA.batch.toRecordBatch().getChild('result')!.get(0) as Uint8Array).equals(Buffer.from(data))).toBe(true);
      expect(gotA.batch.meta(Keys.shmSource)).toBe(a.channel.name);
      expect(a.channel.allocator.allocations()).toEqual([]);

      // A pointer outside the segment: a typed error, the attachment and connection stay usable.
      const bad = await call(requestBytes(emptySchema(), [], 0, {
        [Keys.method]: 'echo_bytes', [Keys.protocol]: target.protocol, [Keys.protocolVersion]: target.protocolVersion!, [Keys.requestVersion]: '1',
        [Keys.shmOffset]: String(SIZE * 2), [Keys.shmLength]: '100',
      }));
      expect(bad.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION')!.meta(Keys.logMessage)).toMatch(/^ProtocolError: .*outside the data region \[65536, /);
      expect(await svc.echo_string({ value: 'after a bad pointer' })).toBe('after a bad pointer');

      // A new name: the server attaches segment b and answers there.
      const viaB = await call(pointerRequest(b, true, bytes(MiB, 3)));
      const gotB = b.channel.resolve(viaB.batches[0]!);
      gotB.release();
      expect(gotB.batch.meta(Keys.shmSource)).toBe(b.channel.name);
      expect(b.channel.allocator.allocations()).toEqual([]);
      expect(a.channel.allocator.allocations()).toEqual([]);
    } finally {
      await conn.close();
      a.close();
      b.close();
    }
    expect(existsSync(segmentFile(a))).toBe(false);
  });

  const listening = async (args: readonly string[]) => {
    const stderr: string[] = [];
    const w = await spawnFirstLine(WORKER, args, (s) => s.on('data', (d: Buffer) => stderr.push(d.toString())));
    if (w.line === null) throw new Error(`worker exited before listening: ${stderr.join('')}`);
    return w;
  };

  for (const [label, args] of [
    ['unix, --workers 1 (workers accept)', ['--workers', '1']],
    ['tcp, --workers 0', ['--workers', '0']],
    ['tcp, --workers 1 --accept relay', ['--workers', '1', '--accept', 'relay']],
  ] as const) {
    it(`${label}: every call kind through the segment`, async () => {
      const unix = label.startsWith('unix');
      dir ??= mkdtempSync(join(tmpdir(), 'vgi-shm-'));
      const w = await listening(unix ? ['--unix', join(dir, `${args.join('')}.sock`), ...args] : ['--tcp', '127.0.0.1:0', ...args]);
      try {
        const endpoint = w.line!;
        const conn = await open(unix ? { unix: endpoint.slice('UNIX:'.length), shm: { size: SIZE } } : { tcp: endpoint.slice('TCP:'.length), shm: { size: SIZE } });
        try {
          await exercise(conn);
        } finally {
          await conn.close();
        }
      } finally {
        w.child.kill('SIGTERM');
        expect((await w.exited).code).toBe(0);
      }
    });
  }

  it('a segment smaller than its header is refused before anything is created', async () => {
    await expect(open({ command: [process.execPath, WORKER], shm: { size: SHM_HEADER_SIZE } })).rejects.toThrow(/shared-memory segment.*must be >/);
  });
});
