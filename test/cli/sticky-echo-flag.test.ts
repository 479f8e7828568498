/**
 * `--sticky-echo NAME=VALUE`: sticky sessions on with an echo header per
 * flag (names lower-cased, repeatable, composable with `--sticky-ttl`); a
 * value without `=` or with a name that is no header token is a usage error.
 */
import { describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../transports/server-command.js';

describe('--sticky-echo', () => {
  it('turns sticky sessions on with each NAME=VALUE as an echo header', () => {
    const parsed = parseServerArgs(['--http', '--sticky-echo', 'X-VGI-Instance=a', '--sticky-ttl', '60', '--sticky-echo', 'x-zone=eu=1']);
    expect('error' in parsed).toBe(false);
    if ('error' in parsed) return;
    expect(parsed.http?.sticky).toEqual({ echoHeaders: { 'x-vgi-instance': 'a', 'x-zone': 'eu=1' }, defaultTtlSeconds: 60 });
  });

  it('refuses a value that is not NAME=VALUE', () => {
    for (const bad of ['x-vgi-instance', '=a', 'bad name=a', 'x-vgi-instance=']) {
      const parsed = parseServerArgs(['--http', '--sticky-echo', bad]);
      expect(parsed, bad).toEqual({ error: `--sticky-echo expects NAME=VALUE, got ${bad}` });
    }
    expect(parseServerArgs(['--http', '--sticky-echo'])).toEqual({ error: '--sticky-echo expects NAME=VALUE, got nothing' });
  });
});
