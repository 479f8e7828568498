/**
 * TestSticky::test_describe_unchanged (vgi_rpc/conformance/_pytest_suite.py
 * @ 749b550), the one test of TestSticky that needs no HTTP fixture: the
 * reference builds an in-process ConformanceService server on a pipe pair
 * (`make_pipe_pair`, reflection enabled) and describes it with
 * `introspect()`. Here the pipe pair is the memory transport (the reference's
 * `pipe`, see harness.ts) to an in-process dispatcher hosting
 * ConformanceService, and `introspect()` is its two Reflection calls:
 * `list_protocols`, then `describe` of the first hosted protocol outside the
 * framework's `vgi_rpc.` namespace.
 *
 * The group's other 18 tests need the HTTP sticky fixtures and stay in
 * http/sticky.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Client, Reflection, RpcConnection } from '../../../src/index.js';
import { makeDispatcher } from '../../../runtime/make-dispatcher.js';
import { memoryConnect } from '../../../transports/memory/memory-transport.js';
import { ConformanceService, conformanceLayer } from '../../../examples/conformance/service.js';

describe('TestSticky [memory]', () => {
  it('test_describe_unchanged', async () => {
    const { dispatcher, dispose } = await makeDispatcher([ConformanceService], conformanceLayer());
    const conn = new RpcConnection(memoryConnect(dispatcher));
    let methods: Map<string, { readonly method_type: string }>;
    try {
      const reflection = Client.promises(Reflection, conn);
      const listing = await reflection.list_protocols();
      const application = listing.protocols.filter((p) => !p.protocol.startsWith('vgi_rpc.'));
      expect(application.length, `server ${listing.server_id} hosts no application protocol`).toBeGreaterThan(0);
      const desc = await reflection.describe({ protocol: application[0]!.protocol });
      methods = new Map(desc.methods.map((m) => [m.name, m]));
    } finally {
      await conn.close();
      await dispose();
    }
    // Stickiness is a transport property, not part of a protocol's wire
    // surface: the three sticky conformance methods are described because the
    // service defines them, exactly like ordinary unary methods.
    for (const name of ['open_counter', 'increment_counter', 'close_counter']) {
      expect(methods.has(name), `sticky conformance method '${name}' must be described`).toBe(true);
      expect(methods.get(name)!.method_type).toBe('unary');
    }
  });
});
