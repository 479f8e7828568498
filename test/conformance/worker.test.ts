import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Client, RpcConnection } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { ConformanceService } from '../../examples/conformance/service.js';
import { SecondaryService } from '../../examples/conformance/secondary.js';

// Runs the compiled worker: build first (`npx tsc -p .`, as `npm test` does).
const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));

describe('conformance worker CLI', () => {
  it('serves both protocols on stdio', async () => {
    const stderr: string[] = [];
    const t = spawnServer(process.execPath, [WORKER], { onStderr: (l) => stderr.push(l) });
    const conn = new RpcConnection(t);
    const svc = Client.promises(ConformanceService, conn);
    const secondary = Client.promises(SecondaryService, conn);
    expect(await svc.echo_string({ value: 'a' })).toBe('a');
    expect(await secondary.echo_string({ value: 'a' })).toBe('secondary:a');
    const rows = [];
    for await (const b of await svc.produce_n({ count: 2n })) rows.push(...b.rows());
    expect(rows).toHaveLength(2);
    await conn.close();
    expect(await t.exited).toBe(0);
    expect(stderr).toEqual([]);
  });

  it('rejects unknown flags with usage and exit 64', () => {
    const r = spawnSync(process.execPath, [WORKER, '--nope'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: conformance-worker');
  });
});
