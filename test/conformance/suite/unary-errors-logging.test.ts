/**
 * Port of TestUnaryErrors, TestProtocolErrors and TestUnaryLogging
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 */
import { expect, it } from 'vitest';
import { Client, Method, RpcClientError, Service } from '../../../src/index.js';
import { overTransports } from '../harness.js';
import { collectLogs, failure, matches } from './protocol-support.js';

/** ConformanceService as a client that believes it has a method the server lacks. */
const ConformanceProbe = Service.define('ConformanceService', { version: '2.0.0' }, {
  definitely_not_a_method: Method.unary({}),
});

overTransports('TestUnaryErrors', (get) => {
  it('test_raise_value_error', async () => {
    const { svc } = await get();
    const e = await failure(svc.raise_value_error({ message: 'test error' }));
    matches(e, /test error/);
    expect(e.errorType).toBe('ValueError');
    expect(e.message).toContain('test error');
    expect(e.traceback).not.toBe('');
  });

  it('test_raise_runtime_error', async () => {
    const { svc } = await get();
    const e = await failure(svc.raise_runtime_error({ message: 'runtime error' }));
    matches(e, /runtime error/);
    expect(e.errorType).toBe('RuntimeError');
  });

  it('test_raise_type_error', async () => {
    const { svc } = await get();
    const e = await failure(svc.raise_type_error({ message: 'type error' }));
    matches(e, /type error/);
    expect(e.errorType).toBe('TypeError');
  });
});

overTransports('TestProtocolErrors', (get) => {
  it('test_unknown_method_raises_attribute_error', async () => {
    const { svc, conn } = await get();
    // Python: AttributeError "has no RPC method 'definitely_not_a_method'" from the proxy.
    // The typed client has no such member, so the call fails locally before any RPC.
    expect('definitely_not_a_method' in svc).toBe(false);
    expect(() => (svc as unknown as Record<string, () => unknown>).definitely_not_a_method!()).toThrow(TypeError);
    // Framework half, identical on every transport: a client that does send it gets method_not_implemented.
    const e = await failure(Client.promises(ConformanceProbe, conn).definitely_not_a_method());
    expect(e.errorType).toBe('MethodNotImplementedError');
    expect(e.errorKind).toBe('method_not_implemented');
    expect(e.message).toMatch(/^Protocol 'ConformanceService' has no method 'definitely_not_a_method'\. Available: \['add_floats', /);
    expect(await svc.echo_string({ value: 'still usable' })).toBe('still usable');
  });

  it('test_none_for_required_param_raises_type_error', async () => {
    const { svc } = await get();
    const e = await failure(svc.raise_value_error({ message: null as unknown as string }));
    // Raised by the client before any request is written (no server involved).
    expect(e).toBeInstanceOf(RpcClientError);
    expect(e.errorType).toBe('TypeError');
    expect(e.serverId).toBeUndefined();
    expect(e.message).toMatch(/parameter 'message'/);
    expect(await svc.echo_int({ value: 42n })).toBe(42n);
  });
});

overTransports('TestUnaryLogging', (get) => {
  it('test_echo_with_info_log', async () => {
    const { svc } = await get();
    const { logs, onLog } = collectLogs();
    expect(await svc.echo_with_info_log({ value: 'test' }, { onLog })).toBe('test');
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('INFO');
    expect(logs[0]!.message).toContain('test');
  });

  it('test_echo_with_multi_logs', async () => {
    const { svc } = await get();
    const { logs, onLog } = collectLogs();
    expect(await svc.echo_with_multi_logs({ value: 'multi' }, { onLog })).toBe('multi');
    expect(logs.map((l) => l.level)).toEqual(['DEBUG', 'INFO', 'WARN']);
  });

  it('test_echo_with_log_extras', async () => {
    const { svc } = await get();
    const { logs, onLog } = collectLogs();
    expect(await svc.echo_with_log_extras({ value: 'extra' }, { onLog })).toBe('extra');
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('INFO');
    expect(logs[0]!.extra).toBeDefined();
    expect(logs[0]!.extra!.source).toBe('conformance');
    expect(logs[0]!.extra!.detail).toBe('extra');
  });

  it('test_echo_with_all_log_levels', async () => {
    const { svc } = await get();
    const { logs, onLog } = collectLogs();
    expect(await svc.echo_with_all_log_levels({ value: 'lvl' }, { onLog })).toBe('lvl');
    const expected = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
    expect(logs.map((l) => l.level)).toEqual(expected);
    expect(logs.map((l) => l.message)).toEqual(expected.map((level) => `${level.toLowerCase()}: lvl`));
  });
});
