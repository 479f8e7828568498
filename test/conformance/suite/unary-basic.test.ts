/**
 * Port of the reference suite's unary groups (vgi_rpc/conformance/_pytest_suite.py @ 749b550):
 * TestUnaryScalarEcho, TestUnaryVoid, TestUnaryComplexTypes, TestUnaryOptional,
 * TestUnaryAnnotated, TestUnaryMultiParam.
 */
import { expect, it } from 'vitest';
import { overTransports } from '../harness.js';

overTransports('TestUnaryScalarEcho', (get) => {
  it('test_echo_string', async () => {
    const { svc } = await get();
    expect(await svc.echo_string({ value: 'hello' })).toBe('hello');
  });

  it('test_echo_bytes', async () => {
    const { svc } = await get();
    expect(await svc.echo_bytes({ data: new TextEncoder().encode('hello') })).toEqual(new TextEncoder().encode('hello'));
  });

  it('test_echo_int', async () => {
    const { svc } = await get();
    expect(await svc.echo_int({ value: 42n })).toBe(42n);
  });

  it('test_echo_float', async () => {
    const { svc } = await get();
    expect(await svc.echo_float({ value: 3.14 })).toBeCloseTo(3.14, 12);
  });

  it('test_echo_bool', async () => {
    const { svc } = await get();
    expect(await svc.echo_bool({ value: true })).toBe(true);
    expect(await svc.echo_bool({ value: false })).toBe(false);
  });
});

overTransports('TestUnaryVoid', (get) => {
  it('test_void_noop', async () => {
    const { svc } = await get();
    expect(await svc.void_noop()).toBeUndefined();
  });

  it('test_void_with_param', async () => {
    const { svc } = await get();
    expect(await svc.void_with_param({ value: 99n })).toBeUndefined();
  });
});

overTransports('TestUnaryComplexTypes', (get) => {
  it('test_echo_enum_pending', async () => {
    const { svc } = await get();
    expect(await svc.echo_enum({ status: 'PENDING' })).toBe('PENDING');
  });

  it('test_echo_enum_active', async () => {
    const { svc } = await get();
    expect(await svc.echo_enum({ status: 'ACTIVE' })).toBe('ACTIVE');
  });

  it('test_echo_enum_closed', async () => {
    const { svc } = await get();
    expect(await svc.echo_enum({ status: 'CLOSED' })).toBe('CLOSED');
  });

  it('test_echo_list', async () => {
    const { svc } = await get();
    expect(await svc.echo_list({ values: ['a', 'b', 'c'] })).toEqual(['a', 'b', 'c']);
  });

  it('test_echo_dict', async () => {
    const { svc } = await get();
    const mapping = new Map([['z', 1n], ['a', 2n], ['m', 3n]]);
    const result = await svc.echo_dict({ mapping });
    expect(result).toEqual(mapping);
    // "verify key ordering preserved": Map equality ignores order, so compare the entry sequence.
    expect([...result.keys()]).toEqual(['z', 'a', 'm']);
  });

  it('test_echo_nested_list', async () => {
    const { svc } = await get();
    const matrix = [[1n, 2n], [3n, 4n, 5n], [6n]];
    expect(await svc.echo_nested_list({ matrix })).toEqual(matrix);
  });
});

overTransports('TestUnaryOptional', (get) => {
  it('test_optional_string_none', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_string({ value: null })).toBeNull();
  });

  it('test_optional_string_non_none', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_string({ value: 'hello' })).toBe('hello');
  });

  it('test_optional_int_none', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_int({ value: null })).toBeNull();
  });

  it('test_optional_int_non_none', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_int({ value: 7n })).toBe(7n);
  });

  it('test_empty_string_vs_null', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_string({ value: '' })).toBe('');
    expect(await svc.echo_optional_string({ value: null })).toBeNull();
  });

  it('test_optional_point', async () => {
    const { svc } = await get();
    expect(await svc.echo_optional_point({ point: null })).toBeNull();
    const point = { x: 3.0, y: 4.0 };
    expect(await svc.echo_optional_point({ point })).toEqual(point);
  });

  it('test_annotated_optional_int', async () => {
    const { svc } = await get();
    expect(await svc.echo_annotated_optional_int({ value: null })).toBeNull();
    expect(await svc.echo_annotated_optional_int({ value: 17 })).toBe(17);
  });

  it('test_outer_optional_non_null', async () => {
    const { svc } = await get();
    expect(await svc.echo_outer_optional_non_null({ value: 23 })).toBe(23);
  });
});

overTransports('TestUnaryAnnotated', (get) => {
  it('test_echo_int32', async () => {
    const { svc } = await get();
    expect(await svc.echo_int32({ value: 42 })).toBe(42);
  });

  it('test_echo_float32', async () => {
    const { svc } = await get();
    expect(await svc.echo_float32({ value: 1.5 })).toBeCloseTo(1.5, 6);
  });
});

overTransports('TestUnaryMultiParam', (get) => {
  it('test_add_floats', async () => {
    const { svc } = await get();
    expect(await svc.add_floats({ a: 1.5, b: 2.5 })).toBeCloseTo(4.0, 12);
  });

  it('test_concatenate_with_default', async () => {
    const { svc } = await get();
    expect(await svc.concatenate({ prefix: 'hello', suffix: 'world' })).toBe('hello-world');
  });

  it('test_concatenate_custom_separator', async () => {
    const { svc } = await get();
    expect(await svc.concatenate({ prefix: 'hello', suffix: 'world', separator: '_' })).toBe('hello_world');
  });

  it('test_with_defaults_all_default', async () => {
    const { svc } = await get();
    expect(await svc.with_defaults({ required: 1n })).toBe('required=1, optional_str=default, optional_int=42');
  });

  it('test_with_defaults_override_all', async () => {
    const { svc } = await get();
    expect(await svc.with_defaults({ required: 2n, optional_str: 'custom', optional_int: 99n })).toBe(
      'required=2, optional_str=custom, optional_int=99',
    );
  });
});
