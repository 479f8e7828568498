/**
 * Peer-client cross-check of TestBoundaryValues
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/boundary-values.test.ts), driven by the npm peer's
 * client against our conformance worker (`--generation 89`),
 * over pipes and over HTTP (`peerGroups` in peer-support.ts).
 *
 * Value representation: int64 results are numbers when within ±2^53 and
 * bigints beyond (so 2^63-1 and -2^63 come back as bigint); int64 parameters
 * are sent as bigint (the peer coerces numbers too); lists are Vectors, maps
 * MapRows with bigint values.
 *
 * Not run with the peer client: none (all 26 cases are expressible).
 */
import { describe, expect, it } from 'vitest';
import { bytesOf, entriesOf, listOf, result, peerGroups } from './peer-support.js';

peerGroups((worker) => {
  const call = (method: string, params?: Record<string, unknown>) => result(worker().client, method, params);

  describe('TestBoundaryValues [peer client]', () => {
    // --- Strings ---

    it('test_empty_string', async () => {
      expect(await call('echo_string', { value: '' })).toBe('');
    });

    it('test_unicode_emoji', async () => {
      expect(await call('echo_string', { value: '\u{1F600}\u{1F680}' })).toBe('\u{1F600}\u{1F680}');
    });

    it('test_unicode_cjk', async () => {
      const val = '\u4f60\u597d\u4e16\u754c';
      expect(await call('echo_string', { value: val })).toBe(val);
    });

    it('test_unicode_rtl', async () => {
      const val = '\u0645\u0631\u062d\u0628\u0627';
      expect(await call('echo_string', { value: val })).toBe(val);
    });

    it('test_string_with_null_byte', async () => {
      expect(await call('echo_string', { value: 'a\x00b' })).toBe('a\x00b');
    });

    it('test_string_with_escapes', async () => {
      expect(await call('echo_string', { value: '\n\t\\' })).toBe('\n\t\\');
    });

    // --- Bytes ---

    it('test_empty_bytes', async () => {
      expect(bytesOf(await call('echo_bytes', { data: new Uint8Array(0) }))).toEqual([]);
    });

    it('test_null_bytes', async () => {
      expect(bytesOf(await call('echo_bytes', { data: new Uint8Array(1000) }))).toEqual(Array.from(new Uint8Array(1000)));
    });

    it('test_high_bytes', async () => {
      expect(bytesOf(await call('echo_bytes', { data: new Uint8Array(1000).fill(0xff) }))).toEqual(Array.from(new Uint8Array(1000).fill(0xff)));
    });

    // --- Integers ---

    it('test_int_zero', async () => {
      expect(await call('echo_int', { value: 0n })).toBe(0);
    });

    it('test_int_negative', async () => {
      expect(await call('echo_int', { value: -1n })).toBe(-1);
    });

    it('test_int_max_int64', async () => {
      expect(await call('echo_int', { value: 2n ** 63n - 1n })).toBe(2n ** 63n - 1n);
    });

    it('test_int_min_int64', async () => {
      expect(await call('echo_int', { value: -(2n ** 63n) })).toBe(-(2n ** 63n));
    });

    // --- Floats ---

    it('test_float_zero', async () => {
      expect(await call('echo_float', { value: 0.0 })).toBe(0);
    });

    it('test_float_negative_zero', async () => {
      const r = await call('echo_float', { value: -0.0 });
      expect(r === 0).toBe(true);
      expect(Object.is(r, -0)).toBe(true);
    });

    it('test_float_inf', async () => {
      expect(await call('echo_float', { value: Infinity })).toBe(Infinity);
    });

    it('test_float_neg_inf', async () => {
      expect(await call('echo_float', { value: -Infinity })).toBe(-Infinity);
    });

    it('test_float_nan', async () => {
      const r = await call('echo_float', { value: NaN });
      expect(typeof r).toBe('number');
      expect(Number.isNaN(r)).toBe(true);
    });

    it('test_float_small', async () => {
      // pytest.approx(5e-324) has an absolute tolerance of 1e-12; exact equality is the stronger check.
      expect(await call('echo_float', { value: 5e-324 })).toBe(5e-324);
    });

    it('test_float_large', async () => {
      const r = await call('echo_float', { value: 1e300 });
      expect(Math.abs(r - 1e300)).toBeLessThanOrEqual(1e300 * 1e-6);
    });

    // --- Lists ---

    it('test_empty_list', async () => {
      expect(listOf(await call('echo_list', { values: [] }))).toEqual([]);
    });

    it('test_single_element_list', async () => {
      expect(listOf(await call('echo_list', { values: ['only'] }))).toEqual(['only']);
    });

    // --- Dicts ---

    it('test_empty_dict', async () => {
      expect(entriesOf(await call('echo_dict', { mapping: new Map() }))).toEqual([]);
    });

    it('test_single_entry_dict', async () => {
      expect(entriesOf(await call('echo_dict', { mapping: new Map([['k', 1n]]) }))).toEqual([['k', 1n]]);
    });

    // --- Nested lists ---

    it('test_empty_nested_list', async () => {
      expect(listOf(await call('echo_nested_list', { matrix: [[]] }))).toEqual([[]]);
    });

    it('test_nested_list_varied', async () => {
      const matrix = [[1n], [2n, 3n], [4n, 5n, 6n]];
      expect(listOf(await call('echo_nested_list', { matrix }))).toEqual(matrix);
    });
  });
});
