/**
 * Start-up cost guard: our modules import Effect by module path
 * (`effect/Effect`), never the `effect` index, which loads the whole library
 * (about 250 ms per thread here, paid again by every worker thread).
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('import cost', () => {
  it('no module of ours, nor a README snippet, imports the effect index', () => {
    const files = execFileSync('git', ['ls-files', '*.ts', 'README.md'], { encoding: 'utf8' }).split('\n').filter((f) => f !== '' && !f.startsWith('test/'));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => /from ['"]effect['"]/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
