/**
 * `--sticky-max N`: sticky sessions on with a session limit, composable with
 * the other sticky flags; anything but a positive integer is a usage error.
 * `http.sticky.maxSessions` itself must be a positive integer, and each
 * worker's share is its ceiling over the workers.
 */
import { describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../transports/server-command.js';
import { stickySettingsOf } from '../../transports/http/http-config.js';

describe('--sticky-max', () => {
  it('turns sticky sessions on with a session limit', () => {
    const parsed = parseServerArgs(['--http', '--sticky-ttl', '60', '--sticky-max', '5000']);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.http?.sticky).toEqual({ defaultTtlSeconds: 60, maxSessions: 5000 });
  });

  it('refuses anything but a positive integer', () => {
    for (const bad of ['0', '-3', '1.5', 'many']) {
      expect(parseServerArgs(['--http', '--sticky-max', bad]), bad).toEqual({ error: `--sticky-max expects a positive number of sessions, got ${bad}` });
    }
    expect(parseServerArgs(['--http', '--sticky-max'])).toEqual({ error: '--sticky-max expects a positive number of sessions, got nothing' });
  });

  it('each of the workers holds its share (the ceiling), and the option must be a positive integer', () => {
    expect(stickySettingsOf({ sticky: { maxSessions: 5 } }, 2)).toMatchObject({ maxSessions: 5, maxPerHolder: 3 });
    expect(stickySettingsOf({ sticky: { maxSessions: 5 } }, 1)).toMatchObject({ maxSessions: 5, maxPerHolder: 5 });
    expect(stickySettingsOf({ sticky: {} }, 4)).not.toHaveProperty('maxPerHolder');
    for (const bad of [0, -1, 2.5, Number.NaN]) expect(() => stickySettingsOf({ sticky: { maxSessions: bad } }, 2)).toThrow(RangeError);
  });
});
