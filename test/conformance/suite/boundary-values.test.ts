/**
 * Port of TestBoundaryValues (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 */
import { expect, it } from 'vitest';
import { overTransports } from '../harness.js';

overTransports('TestBoundaryValues', (get) => {
  // --- Strings ---

  it('test_empty_string', async () => {
    const { svc } = await get();
    expect(await svc.echo_string({ value: '' })).toBe('');
  });

  it('test_unicode_emoji', async () => {
    const { svc } = await get();
    expect(await svc.echo_string({ value: '\u{1F600}\u{1F680}' })).toBe('\u{1F600}\u{1F680}');
  });

  it('test_unicode_cjk', async () => {
    const { svc } = await get();
    const val = '\u4f60\u597d\u4e16\u754c';
    expect(await svc.echo_string({ value: val })).toBe(val);
  });

  it('test_unicode_rtl', async () => {
    const { svc } = await get();
    const val = '\u0645\u0631\u062d\u0628\u0627';
    expect(await svc.echo_string({ value: val })).toBe(val);
  });

  it('test_string_with_null_byte', async () => {
    const { svc } = await get();
    expect(await svc.echo_string({ value: 'a\x00b' })).toBe('a\x00b');
  });

  it('test_string_with_escapes', async () => {
    const { svc } = await get();
    expect(await svc.echo_string({ value: '\n\t\\' })).toBe('\n\t\\');
  });

  // --- Bytes ---

  it('test_empty_bytes', async () => {
    const { svc } = await get();
    expect(await svc.echo_bytes({ data: new Uint8Array(0) })).toEqual(new Uint8Array(0));
  });

  it('test_null_bytes', async () => {
    const { svc } = await get();
    expect(await svc.echo_bytes({ data: new Uint8Array(1000) })).toEqual(new Uint8Array(1000));
  });

  it('test_high_bytes', async () => {
    const { svc } = await get();
    expect(await svc.echo_bytes({ data: new Uint8Array(1000).fill(0xff) })).toEqual(new Uint8Array(1000).fill(0xff));
  });

  // --- Integers ---

  it('test_int_zero', async () => {
    const { svc } = await get();
    expect(await svc.echo_int({ value: 0n })).toBe(0n);
  });

  it('test_int_negative', async () => {
    const { svc } = await get();
    expect(await svc.echo_int({ value: -1n })).toBe(-1n);
  });

  it('test_int_max_int64', async () => {
    const { svc } = await get();
    expect(await svc.echo_int({ value: 2n ** 63n - 1n })).toBe(2n ** 63n - 1n);
  });

  it('test_int_min_int64', async () => {
    const { svc } = await get();
    expect(await svc.echo_int({ value: -(2n ** 63n) })).toBe(-(2n ** 63n));
  });

  // --- Floats ---

  it('test_float_zero', async () => {
    const { svc } = await get();
    expect(await svc.echo_float({ value: 0.0 })).toBe(0);
  });

  it('test_float_negative_zero', async () => {
    const { svc } = await get();
    const result = await svc.echo_float({ value: -0.0 });
    expect(result === 0).toBe(true);
    expect(Object.is(result, -0)).toBe(true);
  });

  it('test_float_inf', async () => {
    const { svc } = await get();
    expect(await svc.echo_float({ value: Infinity })).toBe(Infinity);
  });

  it('test_float_neg_inf', async () => {
    const { svc } = await get();
    expect(await svc.echo_float({ value: -Infinity })).toBe(-Infinity);
  });

  it('test_float_nan', async () => {
    const { svc } = await get();
    expect(Number.isNaN(await svc.echo_float({ value: NaN }))).toBe(true);
  });

  it('test_float_small', async () => {
    const { svc } = await get();
    // pytest.approx(5e-324) has an absolute tolerance of 1e-12; exact equality is the stronger check.
    expect(await svc.echo_float({ value: 5e-324 })).toBe(5e-324);
  });

  it('test_float_large', async () => {
    const { svc } = await get();
    const result = await svc.echo_float({ value: 1e300 });
    expect(Math.abs(result - 1e300)).toBeLessThanOrEqual(1e300 * 1e-6);
  });

  // --- Lists ---

  it('test_empty_list', async () => {
    const { svc } = await get();
    expect(await svc.echo_list({ values: [] })).toEqual([]);
  });

  it('test_single_element_list', async () => {
    const { svc } = await get();
    expect(await svc.echo_list({ values: ['only'] })).toEqual(['only']);
  });

  // --- Dicts ---

  it('test_empty_dict', async () => {
    const { svc } = await get();
    expect(await svc.echo_dict({ mapping: new Map() })).toEqual(new Map());
  });

  it('test_single_entry_dict', async () => {
    const { svc } = await get();
    expect(await svc.echo_dict({ mapping: new Map([['k', 1n]]) })).toEqual(new Map([['k', 1n]]));
  });

  // --- Nested lists ---

  it('test_empty_nested_list', async () => {
    const { svc } = await get();
    expect(await svc.echo_nested_list({ matrix: [[]] })).toEqual([[]]);
  });

  it('test_nested_list_varied', async () => {
    const { svc } = await get();
    const matrix = [[1n], [2n, 3n], [4n, 5n, 6n]];
    expect(await svc.echo_nested_list({ matrix })).toEqual(matrix);
  });
});
