/**
 * The Fly.io helpers: the Machine id as server id and echo header on Fly,
 * nothing off Fly.
 */
import { describe, expect, it } from 'vitest';
import { flyEchoHeaders, flyServerId } from '../../transports/http/fly.js';

describe('Fly.io sticky helpers', () => {
  it('on Fly: the machine id is the server id and the fly-force-instance-id echo value', () => {
    const env = { FLY_MACHINE_ID: '148ed193b95389' };
    expect(flyServerId(env)).toBe('148ed193b95389');
    expect(flyEchoHeaders(env)).toEqual({ 'fly-force-instance-id': '148ed193b95389' });
  });

  it('off Fly (unset or blank): no-ops', () => {
    for (const env of [{}, { FLY_MACHINE_ID: '  ' }]) {
      expect(flyServerId(env)).toBeUndefined();
      expect(flyEchoHeaders(env)).toBeUndefined();
    }
  });
});
