/**
 * The SAB channel between the main thread and a worker thread (the
 * compiled test/fixtures/ring-worker.js: build first): a bounded stress
 * round trip through an echoing worker, and a worker that dies (terminated
 * in the middle of a frame larger than the ring, or while the main thread
 * waits for space) waking the waiting side with RingError 'peer-crashed'.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RingError } from '../../runtime/sab-ring.js';
import { type SabChannel, createSabChannel, openSide, watchThread } from '../../runtime/sab-channel.js';

const WORKER = fileURLToPath(new URL('../../dist/test/fixtures/ring-worker.js', import.meta.url));

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

/** Start the fixture on side `b` of `channel`, watched: its exit marks its ends crashed. */
const startWorker = (channel: SabChannel, mode: string, bytes?: number, holdThread?: boolean): { worker: Worker; said: (m: string) => Promise<void> } => {
  const worker = new Worker(WORKER, { workerData: { channel, mode, ...(bytes === undefined ? {} : { bytes }), ...(holdThread === undefined ? {} : { holdThread }) } });
  started.push(worker);
  watchThread(worker, channel, 'b');
  const heard: string[] = [];
  const waiters: { m: string; resolve: () => void }[] = [];
  worker.on('message', (m: string) => {
    heard.push(m);
    for (const w of waiters.filter((x) => x.m === m)) w.resolve();
  });
  const said = (m: string): Promise<void> => heard.includes(m) ? Promise.resolve() : new Promise((resolve) => { waiters.push({ m, resolve }); });
  return { worker, said };
};

const pattern = (k: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (k + i * 13) & 0xff;
  return out;
};

describe('SAB channel between threads', () => {
  it('stress: 20,000 frames of random sizes echo through a worker in order, byte for byte', async () => {
    const channel = createSabChannel(4096);
    const { said } = startWorker(channel, 'echo');
    const { reader, writer } = openSide(channel, 'a');
    const sizes = Array.from({ length: 20_000 }, (_, k) => (k * 7919) % (k % 50 === 0 ? 20_000 : 600));
    const writing = (async () => {
      for (let k = 0; k < sizes.length; k++) {
        const w = writer.write(pattern(k, sizes[k]!));
        if (w !== undefined) await w;
      }
      await writer.close();
    })();
    for (let k = 0; k < sizes.length; k++) {
      const f = await reader.read();
      if (f === null || f.byteLength !== sizes[k] || !Buffer.from(f).equals(Buffer.from(pattern(k, sizes[k]!)))) {
        throw new Error(`frame ${k}: expected ${sizes[k]} bytes of its pattern, got ${f === null ? 'end of stream' : `${f.byteLength} bytes`}`);
      }
    }
    expect(await reader.read()).toBeNull();
    await writing;
    await said('echoed');
  });

  it('a worker terminated while writing a frame larger than the ring wakes the reader with peer-crashed', async () => {
    const channel = createSabChannel(1024);
    const { worker, said } = startWorker(channel, 'big', 256 * 1024);
    const { reader } = openSide(channel, 'a');
    await said('writing');
    // Read slowly so that the worker stays in the middle of its frame: it can only write a ring's worth per read.
    let got: Uint8Array | null | undefined;
    for (let i = 0; i < 5; i++) {
      got = reader.tryRead();
      expect(got).toBeUndefined();
      await new Promise((r) => setTimeout(r, 5));
    }
    const pending = reader.read();
    await worker.terminate();
    const e = await pending.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RingError);
    expect((e as RingError).reason).toBe('peer-crashed');
    expect((e as RingError).message).toMatch(/in the middle of a frame/);
    // And it stays failed.
    expect(() => reader.tryRead()).toThrow(RingError);
  });

  it('a writer waiting for space wakes with peer-crashed when the reading worker dies', async () => {
    const channel = createSabChannel(256);
    const { worker, said } = startWorker(channel, 'read-nothing');
    const { writer } = openSide(channel, 'a');
    await said('holding');
    const blocked = writer.write(new Uint8Array(10_000));
    expect(blocked).toBeInstanceOf(Promise);
    await worker.terminate();
    await expect(blocked).rejects.toMatchObject({ name: 'RingError', reason: 'peer-crashed' });
  });

  it('a worker that closes its ends cleanly and exits is not reported as crashed', async () => {
    const channel = createSabChannel(64);
    const { worker, said } = startWorker(channel, 'echo');
    const { reader, writer } = openSide(channel, 'a');
    writer.write(pattern(1, 100));
    await writer.close();
    expect((await reader.read())!.byteLength).toBe(100);
    await said('echoed');
    await new Promise<void>((r) => worker.once('exit', () => r()));
    expect(await reader.read()).toBeNull();
  });

  it('an open end keeps its thread alive while it waits, unless opened with holdThread: false', async () => {
    const exited = (w: Worker): Promise<number> => new Promise((r) => w.once('exit', r));
    // Held (the default): the worker waits for a frame, and gets it.
    const held = createSabChannel(64);
    const a = startWorker(held, 'wait');
    await a.said('waiting');
    await new Promise((r) => setTimeout(r, 300));
    openSide(held, 'a').writer.write(pattern(2, 10));
    await a.said('read');
    // Not held: nothing keeps the worker's event loop alive, so it ends while waiting, without reading.
    const unheld = createSabChannel(64);
    const b = startWorker(unheld, 'wait', undefined, false);
    const heard: string[] = [];
    b.worker.on('message', (m: string) => heard.push(m));
    expect(await exited(b.worker)).toBe(0);
    expect(heard).toEqual(['waiting']);
  });
});
