/**
 * Segment ownership: a name this process created never outlives it, however the owner ends
 * (close, exit, the end of its event loop, an uncaught exception, SIGTERM/SIGINT/SIGHUP with or
 * without a listener of its own, SIGKILL through its segment tracker), and a crash of a process
 * that only attached does not disturb it. The tracker: started once, only by a process that creates
 * a segment; gone a moment after its owner; its own death leaves the owner's hooks working and the
 * next segment starts a new one; a worker thread terminated from outside loses its segments too.
 * Each case runs an owner in a process of its own (test/fixtures/shm-peer.ts) and looks in /dev/shm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { attachMapping, unlinkMapping } from '../../../transports/shm/mapping.js';
import { createOwnedSegment, newSegmentName, ownedSegmentNames, ownedSegmentPrefix } from '../../../transports/shm/owned-segments.js';
import { spawnFirstLine, type FirstLine } from '../../support/first-line.js';
import { catches, childrenOf, running, trackersOf } from '../../support/processes.js';

const PEER = fileURLToPath(new URL('../../../dist/test/fixtures/shm-peer.js', import.meta.url));
const OWNED = fileURLToPath(new URL('../../../dist/transports/shm/owned-segments.js', import.meta.url));
const MAPPING = fileURLToPath(new URL('../../../dist/transports/shm/mapping.js', import.meta.url));
const linux = process.platform === 'linux';
const shmPath = (name: string): string => `/dev/shm/${name}`;
const spawned: string[] = [];
const children: FirstLine['child'][] = [];

/** Start an owner that ends by `ending`; returns it once it has printed its segment's name. */
const owner = async (ending: string): Promise<FirstLine & { name: string }> => {
  let stderr = '';
  const started = await spawnFirstLine(PEER, ['own', '65536', ending], (s) => s.on('data', (d: Buffer) => (stderr += d.toString())));
  expect(started.line, stderr).toMatch(new RegExp(`^${ownedSegmentPrefix(started.child.pid!)}[0-9a-f]{16}$`));
  children.push(started.child);
  const name = started.line!;
  spawned.push(name);
  return { ...started, name };
};

/** The one tracker `pid` started. */
const trackerOf = (pid: number): number => {
  const trackers = trackersOf(pid);
  expect(trackers).toHaveLength(1);
  return trackers[0]!;
};

/** The owner's segment existed while it lived: a fresh attach reads the 0xAB it wrote. */
const seenAlive = (name: string): void => {
  const m = attachMapping(name);
  expect(m.bytes.length).toBe(65_536);
  expect(m.bytes[65_535]).toBe(0xab);
  m.close();
};

afterAll(() => {
  // A failed case may leave its owner waiting; end it before removing the names it holds.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const name of spawned) unlinkMapping(name);
});

describe.skipIf(!linux)('owned segments', () => {
  it('names are vgi_<pid>_<16 hex>, fresh each time, with no leading slash', () => {
    const a = newSegmentName();
    const b = newSegmentName();
    expect(a).toMatch(new RegExp(`^vgi_${process.pid}_[0-9a-f]{16}$`));
    expect(a).not.toBe(b);
  });

  it('close unmaps and unlinks, once; the hooks go when the last owned segment closes', () => {
    const before = process.listenerCount('SIGTERM');
    const s = createOwnedSegment(4096);
    expect(existsSync(shmPath(s.name))).toBe(true);
    expect(statSync(shmPath(s.name)).mode & 0o777).toBe(0o600);
    expect(ownedSegmentNames()).toContain(s.name);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    s.close();
    s.close();
    expect(existsSync(shmPath(s.name))).toBe(false);
    expect(ownedSegmentNames()).not.toContain(s.name);
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(() => s.bytes).toThrowError(expect.objectContaining({ code: 'ECLOSED' }));
  });

  it('a peer that attaches keeps its mapping after the owner closes', () => {
    const s = createOwnedSegment(8192);
    const peer = attachMapping(s.name);
    s.bytes[5] = 17;
    s.close();
    expect(existsSync(shmPath(s.name))).toBe(false);
    expect(peer.bytes[5]).toBe(17);
    peer.close();
  });

  for (const [ending, expected] of [
    ['close', { code: 0, signal: null }],
    ['natural', { code: 0, signal: null }],
    ['exit', { code: 3, signal: null }],
    ['throw', { code: 1, signal: null }],
  ] as const) {
    it(`no segment is left when the owner ends by ${ending}`, async () => {
      const o = await owner(ending);
      expect(await o.exited).toEqual(expected);
      expect(existsSync(shmPath(o.name))).toBe(false);
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`no segment is left when the owner gets ${signal}, and it still dies of the signal`, async () => {
      const o = await owner('wait');
      seenAlive(o.name);
      o.child.kill(signal);
      expect(await o.exited).toEqual({ code: null, signal });
      expect(existsSync(shmPath(o.name))).toBe(false);
    });
  }

  it("under runtime/signals.ts's drain, SIGTERM is the drain's: it exits 0 and the exit unlinks", async () => {
    const o = await owner('drain');
    o.child.kill('SIGTERM');
    expect(await o.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(shmPath(o.name))).toBe(false);
  });

  it('while a drain runs the segment stays usable; the second SIGTERM exits 130 and unlinks', async () => {
    let stderr = '';
    const o = await owner('drain-hang');
    o.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    o.child.kill('SIGTERM');
    await expect.poll(() => stderr, { timeout: 20_000 }).toMatch(/SIGTERM received, draining/);
    expect(o.child.exitCode).toBeNull();
    seenAlive(o.name);
    o.child.kill('SIGTERM');
    expect(await o.exited).toEqual({ code: 130, signal: null });
    expect(existsSync(shmPath(o.name))).toBe(false);
  });

  it('a crash of a process that only attached leaves the owner its segment, and the owner still cleans up', () => {
    const s = createOwnedSegment(65_536);
    let crashed: { status: number | null; signal: string | null } = { status: 0, signal: null };
    try {
      execFileSync(process.execPath, [PEER, 'attach', s.name, '0', '0102', 'crash'], { stdio: 'pipe' });
    } catch (e) {
      crashed = e as { status: number | null; signal: string | null };
    }
    expect(crashed.signal).toBe('SIGKILL');
    expect([s.bytes[0], s.bytes[1]]).toEqual([1, 2]);
    expect(existsSync(shmPath(s.name))).toBe(true);
    s.bytes[2] = 3;
    expect(attachMapping(s.name).bytes[2]).toBe(3);
    s.close();
    expect(existsSync(shmPath(s.name))).toBe(false);
  });

  it('SIGKILL of the owner: its tracker unlinks the name, then exits', async () => {
    const o = await owner('wait');
    seenAlive(o.name);
    const tracker = trackerOf(o.child.pid!);
    o.child.kill('SIGKILL');
    expect(await o.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await expect.poll(() => existsSync(shmPath(o.name)), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => running(tracker), { timeout: 5_000 }).toBe(false);
  });

  it('a process that never creates a segment starts no tracker; one that does starts one, once', () => {
    const s = createOwnedSegment(4096);
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
        const { createOwnedSegment, segmentTrackerPid } = await import(${JSON.stringify(OWNED)});
        const { attachMapping } = await import(${JSON.stringify(MAPPING)});
        const { readdirSync, readFileSync } = await import('node:fs');
        const children = () => readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d)).filter((d) => {
          try { const t = readFileSync('/proc/' + d + '/stat', 'utf8'); return Number(t.slice(t.lastIndexOf(')') + 2).split(' ')[1]) === process.pid; } catch { return false; }
        }).length;
        const seen = [];
        const peer = attachMapping(${JSON.stringify(s.name)});
        seen.push([segmentTrackerPid() ?? null, children()]);
        peer.close();
        const a = createOwnedSegment(4096);
        seen.push([segmentTrackerPid() ?? null, children()]);
        const b = createOwnedSegment(4096);
        a.close();
        b.close();
        const c = createOwnedSegment(4096);
        seen.push([segmentTrackerPid() ?? null, children()]);
        c.close();
        console.log(JSON.stringify(seen));
      `], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const [[before, childrenBefore], [first, childrenAfter], [later, childrenLater]] = JSON.parse(r.stdout) as [[number | null, number], [number | null, number], [number | null, number]];
      expect([before, childrenBefore]).toEqual([null, 0]);
      expect(first).toEqual(expect.any(Number));
      expect(childrenAfter).toBe(1);
      expect([later, childrenLater]).toEqual([first, 1]);
    } finally {
      s.close();
    }
  });

  it('a killed tracker does not break its owner: the hooks still unlink, and the next segment starts a new tracker that takes every name', async () => {
    const o = await owner('wait-more');
    const first = trackerOf(o.child.pid!);
    process.kill(first, 'SIGKILL');
    await expect.poll(() => running(first), { timeout: 5_000 }).toBe(false);
    // The owner lives on with its segment.
    await new Promise((r) => setTimeout(r, 200));
    expect(o.child.exitCode).toBeNull();
    seenAlive(o.name);
    // One more segment: a new tracker, which is told of both names.
    const line = new Promise<string>((resolve) => o.child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
    o.child.kill('SIGUSR2');
    const [more, second] = (await line).split(' ') as [string, string];
    spawned.push(more);
    expect(Number(second)).not.toBe(first);
    expect(trackerOf(o.child.pid!)).toBe(Number(second));
    o.child.kill('SIGKILL');
    expect(await o.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await expect.poll(() => [existsSync(shmPath(o.name)), existsSync(shmPath(more))], { timeout: 5_000 }).toEqual([false, false]);
  });

  it('with its tracker killed, SIGTERM still unlinks through the hooks', async () => {
    const o = await owner('wait');
    const tracker = trackerOf(o.child.pid!);
    process.kill(tracker, 'SIGKILL');
    await expect.poll(() => running(tracker), { timeout: 5_000 }).toBe(false);
    o.child.kill('SIGTERM');
    expect(await o.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(shmPath(o.name))).toBe(false);
  });

  it('the tracker ignores the signals its process group gets; it ends with its owner', async () => {
    const o = await owner('wait');
    const tracker = trackerOf(o.child.pid!);
    // Until its handlers are in place (a moment after it starts) the default actions would apply.
    const { SIGINT, SIGTERM, SIGHUP } = constants.signals;
    await expect.poll(() => catches(tracker, [SIGINT, SIGTERM, SIGHUP]), { timeout: 10_000 }).toBe(true);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(tracker, signal);
    await new Promise((r) => setTimeout(r, 300));
    expect(running(tracker)).toBe(true);
    o.child.kill('SIGKILL');
    await o.exited;
    await expect.poll(() => existsSync(shmPath(o.name)), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => running(tracker), { timeout: 5_000 }).toBe(false);
  });

  it("a worker thread's segments are unlinked by its own tracker when the worker is terminated", async () => {
    const worker = new Worker(`
      const { parentPort } = await import('node:worker_threads');
      const { createOwnedSegment, segmentTrackerPid } = await import(${JSON.stringify(OWNED)});
      const s = createOwnedSegment(4096);
      parentPort.postMessage([s.name, segmentTrackerPid()]);
      setInterval(() => {}, 1000);
    `, { eval: true });
    const [name, tracker] = await new Promise<[string, number]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    spawned.push(name);
    expect(existsSync(shmPath(name))).toBe(true);
    expect(childrenOf(process.pid).map((c) => c.pid)).toContain(tracker);
    await worker.terminate();
    await expect.poll(() => existsSync(shmPath(name)), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => running(tracker), { timeout: 5_000 }).toBe(false);
  });
});
