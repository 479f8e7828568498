/**
 * hexOf: the lowercase hex of any bytes, as one flat string. Its results key
 * the session registry, the call-state cache and the cursor memo, so a
 * result built as a rope of V8 cons strings (appending digit by digit) made
 * every idle sticky session some 330 bytes heavier (443 -> 770 B in bench/sticky-http.ts); the heap per retained
 * id shows which kind a result is.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hexOf } from '../../src/wire/hex.js';
import { staleOutputs } from '../support/stale-build.js';

describe('hexOf', () => {
  it('writes every byte value as two lowercase digits, in order', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(hexOf(all)).toBe(Buffer.from(all).toString('hex'));
    expect(hexOf(new Uint8Array(0))).toBe('');
    expect(hexOf(Uint8Array.from([0x0a, 0xff, 0x00]))).toBe('0aff00');
    // A view into a larger buffer: only its own bytes.
    expect(hexOf(all.subarray(250, 253))).toBe('fafbfc');
  });

  it('returns a flat string: a retained 12-byte id costs the heap tens of bytes, not a rope of hundreds', () => {
    const stale = staleOutputs('src/wire/hex.ts');
    if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
    const script = `
      const { hexOf } = await import(${JSON.stringify(new URL('../../dist/src/wire/hex.js', import.meta.url).href)});
      const n = 50000;
      const ids = Array.from({ length: n }, (_, i) => { const b = new Uint8Array(12); b[0] = i & 0xff; b[1] = i >> 8; b[11] = i & 0xff; return b; });
      const perId = () => {
        const kept = new Array(n);
        gc(); gc();
        const before = process.memoryUsage().heapUsed;
        for (let i = 0; i < n; i++) kept[i] = hexOf(ids[i]);
        gc(); gc();
        globalThis.kept = kept;
        return (process.memoryUsage().heapUsed - before) / n;
      };
      perId();
      console.log(JSON.stringify({ perId: perId(), sample: globalThis.kept[n - 1] }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const { perId, sample } = JSON.parse(r.stdout) as { perId: number; sample: string };
    expect(sample).toBe(`4fc3${'00'.repeat(9)}4f`);
    // A flat 24-character string is 40 bytes; a rope of 12 two-digit pieces measured 363.
    expect(perId).toBeLessThan(100);
  });
});
