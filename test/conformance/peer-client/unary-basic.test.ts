/**
 * Peer-client cross-check of the reference's unary groups
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/unary-basic.test.ts): TestUnaryScalarEcho (5),
 * TestUnaryVoid (2), TestUnaryComplexTypes (6), TestUnaryOptional (8),
 * TestUnaryMultiParam (5), driven by the npm peer's client against our
 * conformance worker (`--generation 89`), over pipes and over HTTP
 * (`peerGroups` in peer-support.ts). Same inputs and expected values as the
 * port; only the peer's value representation differs (int64 → number
 * when safe, list → Vector, map → MapRow with bigint values, Point → binary
 * one-row IPC stream).
 *
 * Not run with the peer client: none of these groups' cases (all 26 are
 * expressible). TestUnaryAnnotated, which the port keeps in the same file,
 * is outside this cross-check.
 *
 * The peer has no parameter defaults and sends every parameter it is not
 * given as null, so test_concatenate_with_default and
 * test_with_defaults_all_default also check that our server substitutes the
 * declared defaults for an explicit null (the reference's Python client
 * fills them in client-side instead).
 */
import { describe, expect, it } from 'vitest';
import { approx, bytesOf, decodeRecord, entriesOf, listOf, pointFields, recordIpc, result, peerGroups } from './peer-support.js';

peerGroups((worker) => {
  const call = (method: string, params?: Record<string, unknown>) => result(worker().client, method, params);

  describe('TestUnaryScalarEcho [peer client]', () => {
    it('test_echo_string', async () => {
      expect(await call('echo_string', { value: 'hello' })).toBe('hello');
    });

    it('test_echo_bytes', async () => {
      expect(bytesOf(await call('echo_bytes', { data: new TextEncoder().encode('hello') }))).toEqual(Array.from(new TextEncoder().encode('hello')));
    });

    it('test_echo_int', async () => {
      expect(await call('echo_int', { value: 42n })).toBe(42);
    });

    it('test_echo_float', async () => {
      const r = await call('echo_float', { value: 3.14 });
      expect(r).toBeCloseTo(3.14, 12);
    });

    it('test_echo_bool', async () => {
      expect(await call('echo_bool', { value: true })).toBe(true);
      expect(await call('echo_bool', { value: false })).toBe(false);
    });
  });

  describe('TestUnaryVoid [peer client]', () => {
    it('test_void_noop', async () => {
      expect(await worker().client.call('void_noop')).toBeNull();
    });

    it('test_void_with_param', async () => {
      expect(await worker().client.call('void_with_param', { value: 99n })).toBeNull();
    });
  });

  describe('TestUnaryComplexTypes [peer client]', () => {
    it('test_echo_enum_pending', async () => {
      expect(await call('echo_enum', { status: 'PENDING' })).toBe('PENDING');
    });

    it('test_echo_enum_active', async () => {
      expect(await call('echo_enum', { status: 'ACTIVE' })).toBe('ACTIVE');
    });

    it('test_echo_enum_closed', async () => {
      expect(await call('echo_enum', { status: 'CLOSED' })).toBe('CLOSED');
    });

    it('test_echo_list', async () => {
      expect(listOf(await call('echo_list', { values: ['a', 'b', 'c'] }))).toEqual(['a', 'b', 'c']);
    });

    it('test_echo_dict', async () => {
      const mapping = new Map([['z', 1n], ['a', 2n], ['m', 3n]]);
      // "verify key ordering preserved": the MapRow's entry sequence is the wire order.
      expect(entriesOf(await call('echo_dict', { mapping }))).toEqual([['z', 1n], ['a', 2n], ['m', 3n]]);
    });

    it('test_echo_nested_list', async () => {
      const matrix = [[1n, 2n], [3n, 4n, 5n], [6n]];
      expect(listOf(await call('echo_nested_list', { matrix }))).toEqual(matrix);
    });
  });

  describe('TestUnaryOptional [peer client]', () => {
    it('test_optional_string_none', async () => {
      expect(await call('echo_optional_string', { value: null })).toBeNull();
    });

    it('test_optional_string_non_none', async () => {
      expect(await call('echo_optional_string', { value: 'hello' })).toBe('hello');
    });

    it('test_optional_int_none', async () => {
      expect(await call('echo_optional_int', { value: null })).toBeNull();
    });

    it('test_optional_int_non_none', async () => {
      expect(await call('echo_optional_int', { value: 7n })).toBe(7);
    });

    it('test_empty_string_vs_null', async () => {
      expect(await call('echo_optional_string', { value: '' })).toBe('');
      expect(await call('echo_optional_string', { value: null })).toBeNull();
    });

    it('test_optional_point', async () => {
      expect(await call('echo_optional_point', { point: null })).toBeNull();
      const point = decodeRecord(await call('echo_optional_point', { point: recordIpc(pointFields(), { x: 3.0, y: 4.0 }) }));
      expect(point.names).toEqual(['x', 'y']);
      approx(point.get('x'), 3.0);
      approx(point.get('y'), 4.0);
    });

    it('test_annotated_optional_int', async () => {
      expect(await call('echo_annotated_optional_int', { value: null })).toBeNull();
      expect(await call('echo_annotated_optional_int', { value: 17 })).toBe(17);
    });

    it('test_outer_optional_non_null', async () => {
      expect(await call('echo_outer_optional_non_null', { value: 23 })).toBe(23);
    });
  });

  describe('TestUnaryMultiParam [peer client]', () => {
    it('test_add_floats', async () => {
      expect(await call('add_floats', { a: 1.5, b: 2.5 })).toBeCloseTo(4.0, 12);
    });

    it('test_concatenate_with_default', async () => {
      expect(await call('concatenate', { prefix: 'hello', suffix: 'world' })).toBe('hello-world');
    });

    it('test_concatenate_custom_separator', async () => {
      expect(await call('concatenate', { prefix: 'hello', suffix: 'world', separator: '_' })).toBe('hello_world');
    });

    it('test_with_defaults_all_default', async () => {
      expect(await call('with_defaults', { required: 1n })).toBe('required=1, optional_str=default, optional_int=42');
    });

    it('test_with_defaults_override_all', async () => {
      expect(await call('with_defaults', { required: 2n, optional_str: 'custom', optional_int: 99n })).toBe('required=2, optional_str=custom, optional_int=99');
    });
  });
});
