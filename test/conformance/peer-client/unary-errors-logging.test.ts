/**
 * Peer-client cross-check of TestUnaryErrors (3) and TestUnaryLogging (4)
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/unary-errors-logging.test.ts), driven by the npm
 * peer's client against our conformance worker (`--generation 89`),
 * over pipes and over HTTP (`peerGroups` in peer-support.ts).
 *
 * The peer's RpcError has `errorType`, `errorMessage`, `remoteTraceback` and
 * `message` = "Type: message" (the reference's `str(RpcError)`); logs reach
 * `onLog` as `{level, message, extra}` before the call resolves.
 *
 * Not run with the peer client: none of these two groups' cases. (The
 * neighbouring TestProtocolErrors is outside this cross-check: its
 * unknown-method case fails inside the peer client from its describe cache,
 * "Unknown method: '...'", without a request, and its null-for-required case
 * is a client-side check of our own client.)
 */
import { describe, expect, it } from 'vitest';
import { expectMatch, peerFailure, result, peerGroups } from './peer-support.js';

peerGroups((worker) => {

  /** Call `method` and return its result with the logs delivered during the call. */
  const withLogs = async (method: string, value: string): Promise<{ value: unknown; logs: { level: string; message: string; extra?: Record<string, any> }[] }> => {
    const w = worker();
    w.logs.length = 0;
    const v = await result(w.client, method, { value });
    return { value: v, logs: [...w.logs] };
  };

  describe('TestUnaryErrors [peer client]', () => {
    it('test_raise_value_error', async () => {
      const e = await peerFailure(worker().client.call('raise_value_error', { message: 'test error' }));
      expectMatch(e, /test error/);
      expect(e.errorType).toBe('ValueError');
      expect(e.errorMessage).toContain('test error');
      expect(e.remoteTraceback).not.toBe('');
    });

    it('test_raise_runtime_error', async () => {
      const e = await peerFailure(worker().client.call('raise_runtime_error', { message: 'runtime error' }));
      expectMatch(e, /runtime error/);
      expect(e.errorType).toBe('RuntimeError');
    });

    it('test_raise_type_error', async () => {
      const e = await peerFailure(worker().client.call('raise_type_error', { message: 'type error' }));
      expectMatch(e, /type error/);
      expect(e.errorType).toBe('TypeError');
    });
  });

  describe('TestUnaryLogging [peer client]', () => {
    it('test_echo_with_info_log', async () => {
      const { value, logs } = await withLogs('echo_with_info_log', 'test');
      expect(value).toBe('test');
      expect(logs).toHaveLength(1);
      expect(logs[0]!.level).toBe('INFO');
      expect(logs[0]!.message).toContain('test');
    });

    it('test_echo_with_multi_logs', async () => {
      const { value, logs } = await withLogs('echo_with_multi_logs', 'multi');
      expect(value).toBe('multi');
      expect(logs.map((l) => l.level)).toEqual(['DEBUG', 'INFO', 'WARN']);
    });

    it('test_echo_with_log_extras', async () => {
      const { value, logs } = await withLogs('echo_with_log_extras', 'extra');
      expect(value).toBe('extra');
      expect(logs).toHaveLength(1);
      expect(logs[0]!.level).toBe('INFO');
      expect(logs[0]!.extra).toBeDefined();
      expect(logs[0]!.extra!.source).toBe('conformance');
      expect(logs[0]!.extra!.detail).toBe('extra');
    });

    it('test_echo_with_all_log_levels', async () => {
      const { value, logs } = await withLogs('echo_with_all_log_levels', 'lvl');
      expect(value).toBe('lvl');
      const expected = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
      expect(logs.map((l) => l.level)).toEqual(expected);
      expect(logs.map((l) => l.message)).toEqual(expected.map((level) => `${level.toLowerCase()}: lvl`));
    });
  });
});
