/**
 * Segment ownership: a name this process created never outlives it, however the owner ends
 * (close, exit, the end of its event loop, an uncaught exception, SIGTERM/SIGINT/SIGHUP with or
 * without a listener of its own), and a crash of a process that only attached does not disturb it.
 * Each case runs an owner in a process of its own (test/fixtures/shm-peer.ts) and looks in /dev/shm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { attachMapping, unlinkMapping } from '../../../transports/shm/mapping.js';
import { createOwnedSegment, newSegmentName, ownedSegmentNames, ownedSegmentPrefix } from '../../../transports/shm/owned-segments.js';
import { spawnFirstLine, type FirstLine } from '../../support/first-line.js';

const PEER = fileURLToPath(new URL('../../../dist/test/fixtures/shm-peer.js', import.meta.url));
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

  it('SIGKILL of the owner leaves its name behind (nothing can run); the vgi_<pid>_ prefix identifies it', async () => {
    const o = await owner('wait');
    o.child.kill('SIGKILL');
    expect(await o.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(readdirSync('/dev/shm').filter((n) => n.startsWith(ownedSegmentPrefix(o.child.pid!)))).toEqual([o.name]);
    unlinkMapping(o.name);
  });
});
