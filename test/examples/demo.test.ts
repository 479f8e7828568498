import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/examples/demo/main.js', import.meta.url));

describe('npm run demo', () => {
  it('serves the demo on every core, calls each kind of method and drains on SIGTERM', () => {
    const r = spawnSync(process.execPath, [MAIN], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/greet\(\{name: "world"\}\)\s+Hello, world!/);
    expect(r.stdout).toMatch(/divide\(\{a: 1, b: 0\}\)\s+ValueError: division by zero/);
    expect(r.stdout).toMatch(/scale\(\{factor: 10\}\) \[1, 2, 3\]\s+\[10,20,30\]/);
    const threads = /whoami\(\) on 8 connections\s+(.*)/.exec(r.stdout)?.[1] ?? '';
    expect(threads.split(', ').filter((t) => t.startsWith('worker thread'))).toHaveLength(availableParallelism());
    expect(r.stdout).toMatch(/server exit code after SIGTERM\s+0/);
  });
});
