/**
 * No client segment is left in /dev/shm when a process dies mid-call: a client SIGKILLed in the
 * middle of an exchange whose batches travel through its segment (its segment tracker unlinks the
 * name; its server sees stdin end and exits; the tracker goes too), and a server SIGKILLed mid-call
 * (the client gets a typed error, and closing the connection unlinks the segment). Runs the
 * compiled conformance worker and test/fixtures/shm-crash-client.ts: build first.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Output, RpcClientError } from '../../../src/index.js';
import { ConformanceService } from '../../../examples/conformance/service.js';
import { open } from '../../../transports/connect.js';
import { unlinkMapping } from '../../../transports/shm/mapping.js';
import { segmentsAvailable } from '../../../transports/shm/segments.js';
import { spawnFirstLine, type FirstLine } from '../../support/first-line.js';
import { running } from '../../support/processes.js';

const CLIENT = fileURLToPath(new URL('../../../dist/test/fixtures/shm-crash-client.js', import.meta.url));
const WORKER = fileURLToPath(new URL('../../../dist/examples/conformance/worker.js', import.meta.url));
const SIZE = 8 * 1024 * 1024;
const shmPath = (name: string): string => `/dev/shm/${name}`;
const names: string[] = [];
const pids: number[] = [];

afterAll(() => {
  // A failed case may leave processes and names behind; end them before removing the names.
  for (const pid of pids) if (running(pid)) process.kill(pid, 'SIGKILL');
  for (const name of names) unlinkMapping(name);
});

const scaled = (i: number) => Output.columns({ value: Float64Array.from({ length: 20_000 }, (_, k) => k + i) });

describe.skipIf(!segmentsAvailable() || process.platform !== 'linux')('client segments when a process dies mid-call', () => {
  it('a client SIGKILLed mid-exchange leaves no segment; its server and its tracker exit', async () => {
    let stderr = '';
    const client: FirstLine = await spawnFirstLine(CLIENT, [String(SIZE)], (s) => s.on('data', (d: Buffer) => (stderr += d.toString())));
    pids.push(client.child.pid!);
    const [name, server, tracker] = (client.line ?? '').split(' ') as [string, string, string];
    if (name.startsWith('vgi_')) names.push(name);
    if (/^\d+$/.test(server ?? '')) pids.push(Number(server));
    if (/^\d+$/.test(tracker ?? '')) pids.push(Number(tracker));
    expect(client.line, stderr).toMatch(/^vgi_\d+_[0-9a-f]{16} \d+ \d+$/);
    expect(name.startsWith(`vgi_${client.child.pid}_`)).toBe(true);
    expect(existsSync(shmPath(name))).toBe(true);
    expect([running(Number(server)), running(Number(tracker))]).toEqual([true, true]);

    client.child.kill('SIGKILL');
    expect(await client.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await expect.poll(() => existsSync(shmPath(name)), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => [running(Number(server)), running(Number(tracker))], { timeout: 10_000 }).toEqual([false, false]);
  });

  it('a server SIGKILLed mid-exchange: the client gets a typed error, and closing it leaves no segment', async () => {
    let server: number | undefined;
    const conn = await open({
      command: ['/bin/sh', '-c', 'echo "pid $$" >&2; exec "$0" "$@"', process.execPath, WORKER],
      shm: { size: SIZE },
      spawn: {
        onStderr: (line) => {
          const m = /^pid (\d+)$/.exec(line);
          if (m !== null) server ??= Number(m[1]);
        },
      },
    });
    const name = conn.segment!.channel.name;
    names.push(name);
    try {
      const session = await Client.promises(ConformanceService, conn).exchange_scale({ factor: 2 });
      expect((await session.exchange(scaled(0))).values('value')[19_999]).toBe(2 * 19_999);
      expect(conn.segment!.channel.counts.written).toBeGreaterThanOrEqual(1);
      expect(server).toEqual(expect.any(Number));
      pids.push(server!);
      expect(existsSync(shmPath(name))).toBe(true);

      process.kill(server!, 'SIGKILL');
      await expect.poll(() => running(server!), { timeout: 5_000 }).toBe(false);
      const failed = await session.exchange(scaled(1)).then(() => undefined, (e: unknown) => e);
      expect(failed).toBeInstanceOf(RpcClientError);
      expect(failed).toMatchObject({ errorType: 'TransportError' });
      // The segment is the client's: the server's death does not remove it, the client's close does.
      expect(existsSync(shmPath(name))).toBe(true);
    } finally {
      await conn.close();
    }
    expect(existsSync(shmPath(name))).toBe(false);
  });
});
