/**
 * The `vgi-rpc` bin without its optional packages: a resolution hook
 * (fixtures/hide-packages.mjs) makes the named packages unresolvable, as if
 * they were not installed, and the bin must name them and exit 78 instead
 * of failing with a stack trace. With everything installed, `--help`
 * documents the exit codes.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertFreshBuild, runCli } from './cli-run.js';

const HIDE = fileURLToPath(new URL('./fixtures/hide-packages.mjs', import.meta.url));
const hiding = (packages: string) => ({ nodeArgs: ['--import', HIDE], env: { HIDE_PACKAGES: packages } });

beforeAll(assertFreshBuild);

describe('vgi-rpc optional packages', () => {
  it('names every missing package and exits 78', async () => {
    const r = await runCli(['--help'], hiding('@effect/cli,@effect/platform,@effect/printer,@effect/printer-ansi'));
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not installed: @effect/cli@^0.77.2, @effect/platform@^0.97.2, @effect/printer@^0.51.0, @effect/printer-ansi@^0.51.0.');
    expect(r.stderr).toContain('npm install @effect/cli@^0.77.2 @effect/platform@^0.97.2 @effect/printer@^0.51.0 @effect/printer-ansi@^0.51.0');
    expect(r.stderr).not.toContain('    at ');
  });

  it('names only the missing one', async () => {
    const r = await runCli(['describe', '--unix', '/nowhere'], hiding('@effect/printer-ansi'));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('not installed: @effect/printer-ansi@^0.51.0.');
  });

  it('a package they need that does not load is reported the same way', async () => {
    const r = await runCli(['--help'], hiding('@effect/typeclass'));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("do not load: Cannot find package '@effect/typeclass");
  });

  it('with them installed, --help lists the commands and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('describe');
    expect(r.stdout).toContain('call');
    expect(r.stdout).toContain('EXIT CODES');
    for (const code of ['64', '69', '78']) expect(r.stdout).toMatch(new RegExp(`^${code} `, 'm'));
    // Piped output carries no terminal styles.
    expect(r.stdout).not.toContain('\x1b[');
  });
});
