/**
 * The dispatcher's side of the shared-memory transport, in one process: the
 * segments are plain memory the in-memory client and the dispatcher share,
 * so every step of the reference's server (attach on first sight, cache per
 * connection, re-attach on a new name, answer through the segment only when
 * the request used it, consumer-frees order, typed errors, never HTTP) is
 * checked without any mapping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { BatchView, Client, Output, ReleasedBatchError, RpcConnection } from '../../src/index.js';
import { CounterFields } from '../../examples/conformance/types.js';
import type { ClientSegment } from '../../src/client/client-shm.js';
import { segmentMetadata } from '../../src/client/client-shm.js';
import { encodeRequest } from '../../src/client/request-encoding.js';
import type { AttachedSegment, SegmentAttacher } from '../../src/protocol/connection-shm.js';
import { Keys, TRANSPORT_OPTIONS_METHOD } from '../../src/wire/metadata-keys.js';
import { ShmChannel } from '../../src/wire/shm-pointer.js';
import { SHM_HEADER_SIZE, initSegmentHeader } from '../../src/wire/shm-segment.js';
import { emptySchema } from '../../src/service/method.js';
import { StreamEncoder } from '../../src/wire/batch-encoder.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { ConformanceService, conformanceLayer } from '../../examples/conformance/service.js';
import { errorOf, readResponse, requestBytes } from '../support/raw-exchange.js';

const SIZE = SHM_HEADER_SIZE + 4 * 1024 * 1024;
const target = { protocol: ConformanceService.name, protocolVersion: ConformanceService.version };

/** Named segments in plain memory, and what the server did with them. */
const memorySegments = () => {
  const store = new Map<string, Uint8Array>();
  const log: string[] = [];
  const attacher: SegmentAttacher = {
    minBatchBytes: 1024,
    attach: (name: string): AttachedSegment => {
      const bare = name.replace(/^\//, '');
      const bytes = store.get(bare);
      if (bytes === undefined) throw Object.assign(new Error(`no segment ${name}`), { name: 'ShmMappingError', code: 'ENOENT' });
      log.push(`attach ${name}`);
      return { name, bytes, close: () => log.push(`close ${name}`) };
    },
  };
  const create = (name: string): ClientSegment => {
    const bytes = new Uint8Array(SIZE);
    initSegmentHeader(bytes);
    store.set(name, bytes);
    return { channel: new ShmChannel({ name, bytes }, 1024), close: () => store.delete(name) };
  };
  return { attacher, create, log };
};

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

describe('dispatcher with client segments (in-memory)', () => {
  const segs = memorySegments();
  let d: Awaited<ReturnType<typeof makeDispatcher>>;
  beforeAll(async () => {
    d = await makeDispatcher([ConformanceService], conformanceLayer(), { shm: segs.attacher });
  });
  afterAll(() => d.dispose());

  it('attaches on first sight, once per connection, answers through the segment and frees the request region', async () => {
    const seg = segs.create('psm_one');
    const t = memoryConnect(d.dispatcher);
    const conn = new RpcConnection(t, { shm: seg });
    const svc = Client.promises(ConformanceService, conn);
    const data = bytes(64 * 1024, 1);
    for (let i = 0; i < 3; i++) expect(await svc.echo_bytes({ data })).toEqual(data);
    expect(seg.channel.counts).toEqual({ written: 3, resolved: 3 });
    expect(seg.channel.allocator.allocations()).toEqual([]);
    expect(await svc.echo_string({ value: 'small' })).toBe('small');
    expect(seg.channel.counts).toEqual({ written: 3, resolved: 3 });
    await conn.close();
    await t.served;
    // Named on every request, attached once, detached when the connection ends; never unlinked by the server.
    expect(segs.log.splice(0)).toEqual(['attach psm_one', 'close psm_one']);
  });

  it('answers inline when the request did not use the segment, re-attaches on a new name (with a leading slash)', async () => {
    const a = segs.create('psm_a');
    const b = segs.create('psm_b');
    const t = memoryConnect(d.dispatcher);
    const send = async (seg: ClientSegment | undefined, name: string, data: Uint8Array) => {
      const out: Uint8Array[] = [];
      const md = seg === undefined ? undefined : new Map([...segmentMetadata(seg)].map(([k, v]) => [k, k === Keys.shmSegmentName ? name : v]));
      encodeRequest(out, target, 'echo_bytes', ConformanceService.methods.echo_bytes, { data }, md);
      await t.write(out);
      return readResponse(t);
    };
    const viaA = await send(a, 'psm_a', bytes(8192, 2));
    expect(viaA.batches[0]!.numRows).toBe(0);
    a.channel.resolve(viaA.batches[0]!).release();
    // Same connection, segment still attached, but this request names none: the answer is inline.
    const inline = await send(undefined, '', bytes(8192, 3));
    expect(inline.batches[0]!.numRows).toBe(1);
    expect(inline.batches[0]!.meta(Keys.shmOffset)).toBeUndefined();
    const viaB = await send(b, '/psm_b', bytes(8192, 4));
    const got = b.channel.resolve(viaB.batches[0]!);
    got.release();
    // The client read it back from its own segment b.
    expect(got.batch.meta(Keys.shmSource)).toBe('psm_b');
    t.close();
    await t.served;
    expect(segs.log.splice(0)).toEqual(['attach psm_a', 'close psm_a', 'attach /psm_b', 'close /psm_b']);
    expect(a.channel.allocator.allocations()).toEqual([]);
    expect(b.channel.allocator.allocations()).toEqual([]);
  });

  it('frees an exchange input when the next one arrives, and the last before the output ends', async () => {
    const seg = segs.create('psm_ex');
    const t = memoryConnect(d.dispatcher);
    const conn = new RpcConnection(t, { shm: seg });
    const svc = Client.promises(ConformanceService, conn);
    const session = await svc.exchange_scale({ factor: 3 });
    const regions: (readonly [number, number])[][] = [];
    for (let i = 0; i < 3; i++) {
      const out = await session.exchange(Output.columns({ value: Float64Array.from({ length: 4096 }, (_, k) => k + i) }));
      expect(out.values('value')[4095]).toBe(3 * (4095 + i));
      regions.push(seg.channel.allocator.allocations());
    }
    // The server still holds the input it just consumed (one region); the client freed every output.
    for (const r of regions) expect(r.length).toBe(1);
    await session.close();
    expect(seg.channel.allocator.allocations()).toEqual([]);
    expect(seg.channel.counts).toEqual({ written: 3, resolved: 3 });
    await conn.close();
    await t.served;
    expect(segs.log.splice(0)).toEqual(['attach psm_ex', 'close psm_ex']);
  });

  it('a producer keeps ticks in flight in groups; the client frees the regions it read once each group is answered', async () => {
    const seg = segs.create('psm_prod');
    const t = memoryConnect(d.dispatcher);
    const conn = new RpcConnection(t, { shm: seg });
    const svc = Client.promises(ConformanceService, conn);
    const live: number[] = [];
    let rows = 0;
    for await (const b of await svc.produce_large_batches({ rows_per_batch: 2_000n, batch_count: 10n })) {
      rows += b.numRows;
      live.push(conn.shmReader!.held);
    }
    expect(rows).toBe(20_000);
    expect(seg.channel.counts.resolved).toBe(10);
    // Regions read are held until their group of ticks is answered, then freed together: the first group
    // is 4 ticks, the next as many as the segment has room for (here the 6 batches left, freed at the end).
    expect(live).toEqual([1, 2, 3, 0, 1, 2, 3, 4, 5, 6]);
    expect(seg.channel.allocator.allocations()).toEqual([]);
    await conn.close();
    await t.served;
    segs.log.splice(0);
  });

  it('zero-copy producer: a batch is a view over the segment until the next pull, then released (detected) and its region freed', async () => {
    const seg = { ...segs.create('psm_zc'), zeroCopy: true };
    const t = memoryConnect(d.dispatcher);
    const conn = new RpcConnection(t, { shm: seg });
    const svc = Client.promises(ConformanceService, conn);
    const segmentBuffer = seg.channel.segment.bytes.buffer;
    const kept: BatchView<typeof CounterFields>[] = [];
    const held: number[] = [];
    let n = 0;
    for await (const b of await svc.produce_large_batches({ rows_per_batch: 2_000n, batch_count: 10n })) {
      // Valid during its turn, and its columns lie in the segment itself (no copy).
      expect(b.valid).toBe(true);
      expect(b.column('index').values.buffer).toBe(segmentBuffer);
      expect(b.values('index')[0]).toBe(BigInt(n * 2_000));
      // The batch kept from the previous turn was released by this pull.
      if (n > 0) expect(kept[n - 1]!.valid).toBe(false);
      kept.push(b);
      held.push(conn.shmReader!.held);
      n++;
    }
    expect(n).toBe(10);
    expect(seg.channel.counts.resolved).toBe(10);
    // Held past its release: detected, not silently read.
    expect(() => kept[3]!.values('index')).toThrow(ReleasedBatchError);
    expect(() => kept[9]!.rows()).toThrow(ReleasedBatchError);
    // A released region is freed when the server is idle: at the end of the first group, the three released
    // batches are freed and the one in hand is kept; at the next pull it is freed too, before the next group.
    expect(held).toEqual([1, 2, 3, 1, 1, 2, 3, 4, 5, 6]);
    expect(seg.channel.allocator.allocations()).toEqual([]);
    // Breaking out of the loop releases and frees the batch in hand too.
    for await (const b of await svc.produce_large_batches({ rows_per_batch: 2_000n, batch_count: 10n })) {
      kept.push(b);
      break;
    }
    expect(kept.at(-1)!.valid).toBe(false);
    expect(seg.channel.allocator.allocations()).toEqual([]);
    await conn.close();
    await t.served;
    segs.log.splice(0);
  });

  it('zero-copy exchange: the output is valid until the next exchange; unary results are still copies', async () => {
    const seg = { ...segs.create('psm_zcx'), zeroCopy: true };
    const t = memoryConnect(d.dispatcher);
    const conn = new RpcConnection(t, { shm: seg });
    const svc = Client.promises(ConformanceService, conn);
    const segmentBuffer = seg.channel.segment.bytes.buffer;
    const session = await svc.exchange_scale({ factor: 2 });
    const first = await session.exchange(Output.columns({ value: Float64Array.from({ length: 4096 }, (_, k) => k) }));
    expect(first.column('value').values.buffer).toBe(segmentBuffer);
    expect(first.values('value')[4095]).toBe(8190);
    const second = await session.exchange(Output.columns({ value: Float64Array.from({ length: 4096 }, (_, k) => k + 1) }));
    expect(first.valid).toBe(false);
    expect(() => first.column('value')).toThrow(ReleasedBatchError);
    expect(second.values('value')[4095]).toBe(8192);
    await session.close();
    expect(second.valid).toBe(false);
    expect(seg.channel.allocator.allocations()).toEqual([]);
    const data = bytes(8192, 3);
    const echoed = await svc.echo_bytes({ data });
    expect(echoed).toEqual(data);
    expect(echoed.buffer).not.toBe(segmentBuffer);
    expect(seg.channel.allocator.allocations()).toEqual([]);
    await conn.close();
    await t.served;
    segs.log.splice(0);
  });

  it('a segment that cannot be attached, and a pointer without one, are typed errors; the connection keeps serving', async () => {
    const t = memoryConnect(d.dispatcher);
    const svc = Client.promises(ConformanceService, new RpcConnection(t));
    const missing = await (async () => {
      await t.write(requestBytes(emptySchema(), [], 0, { [Keys.method]: 'echo_string', [Keys.protocol]: target.protocol, [Keys.requestVersion]: '1', [Keys.shmSegmentName]: 'psm_missing', [Keys.shmSegmentSize]: String(SIZE) }));
      return readResponse(t);
    })();
    expect(errorOf(missing)).toMatchObject({ type: 'ShmMappingError', message: 'no segment psm_missing' });
    expect(await svc.echo_string({ value: 'ok' })).toBe('ok');
    const seg = segs.create('psm_unnamed');
    const out: Uint8Array[] = [];
    encodeRequest(out, target, 'echo_bytes', ConformanceService.methods.echo_bytes, { data: bytes(8192, 5) }, undefined, { metadata: new Map(), channel: seg.channel });
    await t.write(out);
    expect(errorOf(await readResponse(t))).toMatchObject({ type: 'ProtocolError', message: expect.stringMatching(/pointer, but this connection has no segment attached/) });
    expect(await svc.echo_string({ value: 'still ok' })).toBe('still ok');
    t.close();
    await t.served;
  });

  it('an exchange input pointer that does not resolve ends the stream with a typed error; the connection keeps serving', async () => {
    const seg = segs.create('psm_badin');
    const t = memoryConnect(d.dispatcher);
    const out: Uint8Array[] = [];
    encodeRequest(out, target, 'exchange_scale', ConformanceService.methods.exchange_scale, { factor: 2 }, segmentMetadata(seg));
    await t.write(out);
    const input = new StreamEncoder(ConformanceService.methods.exchange_scale.inputSchema);
    const frames: Uint8Array[] = [];
    input.writeSchema(frames);
    input.writeEmpty(frames, new Map([[Keys.shmOffset, String(SIZE + 10)], [Keys.shmLength, '64']]));
    input.writeEos(frames);
    await t.write(frames);
    const reply = await readResponse(t);
    expect(errorOf(reply)).toMatchObject({ type: 'ProtocolError', message: expect.stringMatching(/outside the data region/) });
    const svc = Client.promises(ConformanceService, new RpcConnection(t));
    expect(await svc.echo_string({ value: 'next call' })).toBe('next call');
    t.close();
    await t.served;
    segs.log.splice(0);
  });

  it('__transport_options__ says shm=true on a byte stream and false over HTTP, where no segment is ever attached', async () => {
    const probe = async (kind: 'pipe' | 'http') => {
      const t = memoryConnect(d.dispatcher, kind);
      await t.write(requestBytes(emptySchema(), [], 0, { [Keys.method]: TRANSPORT_OPTIONS_METHOD, [Keys.requestVersion]: '1', [Keys.shmSegmentName]: 'psm_http', [Keys.shmSegmentSize]: String(SIZE) }));
      const r = await readResponse(t);
      t.close();
      await t.served;
      return r.batches[0]!.meta(Keys.transportShm);
    };
    segs.create('psm_http');
    expect(await probe('http')).toBe('false');
    expect(segs.log.splice(0)).toEqual([]);
    expect(await probe('pipe')).toBe('true');
    expect(segs.log.splice(0)).toEqual(['attach psm_http', 'close psm_http']);
  });
});
