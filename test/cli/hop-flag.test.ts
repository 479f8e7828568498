/**
 * `--hop port|sab`: the thread hop of relayed connections; anything else is
 * a usage error.
 */
import { describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../transports/server-command.js';

describe('--hop', () => {
  it('chooses the relay hop', () => {
    for (const hop of ['port', 'sab'] as const) expect(parseServerArgs(['--unix', '/tmp/x.sock', '--accept', 'relay', '--hop', hop])).toMatchObject({ hop });
    expect('hop' in (parseServerArgs(['--stdio']) as object)).toBe(false);
  });

  it('refuses anything else', () => {
    expect(parseServerArgs(['--hop', 'shm'])).toEqual({ error: '--hop expects port or sab, got shm' });
    expect(parseServerArgs(['--hop'])).toEqual({ error: '--hop expects port or sab, got nothing' });
  });
});
