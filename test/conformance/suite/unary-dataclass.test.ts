/**
 * Port of TestUnaryDataclass (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 */
import { expect, it } from 'vitest';
import { overTransports } from '../harness.js';
import { fieldsOf } from './protocol-support.js';

overTransports('TestUnaryDataclass', (get) => {
  it('test_echo_point', async () => {
    const { svc } = await get();
    const result = await svc.echo_point({ point: { x: 1.5, y: 2.5 } });
    expect(Object.keys(result)).toEqual(['x', 'y']);
    expect(result.x).toBeCloseTo(1.5, 12);
    expect(result.y).toBeCloseTo(2.5, 12);
  });

  it('test_echo_bounding_box', async () => {
    const { svc } = await get();
    const box = { top_left: { x: 0.0, y: 10.0 }, bottom_right: { x: 10.0, y: 0.0 }, label: 'test' };
    const result = await svc.echo_bounding_box({ box });
    expect(Object.keys(result)).toEqual(['top_left', 'bottom_right', 'label']);
    expect(result.top_left.x).toBeCloseTo(0.0, 12);
    expect(result.top_left.y).toBeCloseTo(10.0, 12);
    expect(result.bottom_right.x).toBeCloseTo(10.0, 12);
    expect(result.label).toBe('test');
  });

  it('test_echo_all_types', async () => {
    const { svc } = await get();
    const data = {
      str_field: 'hello',
      bytes_field: Uint8Array.of(1, 2, 3),
      int_field: 42n,
      float_field: 3.14,
      bool_field: true,
      list_of_int: [1n, 2n, 3n],
      list_of_str: ['a', 'b'],
      dict_field: new Map([['k', 1n]]),
      enum_field: 'ACTIVE' as const,
      nested_point: { x: 1.0, y: 2.0 },
      optional_str: 'present',
      optional_int: 7n,
      optional_nested: { x: 3.0, y: 4.0 },
      list_of_nested: [{ x: 5.0, y: 6.0 }],
      annotated_int32: 100,
      annotated_float32: 1.5,
      nested_list: [[1n, 2n], [3n]],
      dict_str_str: new Map([['key', 'val']]),
    };
    const result = await svc.echo_all_types({ data });
    expect(Object.keys(result)).toHaveLength(18);
    expect(result.str_field).toBe('hello');
    expect(result.bytes_field).toEqual(Uint8Array.of(1, 2, 3));
    expect(result.int_field).toBe(42n);
    expect(result.float_field).toBeCloseTo(3.14, 12);
    expect(result.bool_field).toBe(true);
    expect(result.list_of_int).toEqual([1n, 2n, 3n]);
    expect(result.list_of_str).toEqual(['a', 'b']);
    expect(result.dict_field).toEqual(new Map([['k', 1n]]));
    expect(result.enum_field).toBe('ACTIVE');
    expect(result.nested_point.x).toBeCloseTo(1.0, 12);
    expect(result.optional_str).toBe('present');
    expect(result.optional_int).toBe(7n);
    expect(result.optional_nested).not.toBeNull();
    expect(result.optional_nested!.x).toBeCloseTo(3.0, 12);
    expect(result.list_of_nested).toHaveLength(1);
    expect(result.annotated_int32).toBe(100);
    expect(result.annotated_float32).toBeCloseTo(1.5, 6);
    expect(result.nested_list).toEqual([[1n, 2n], [3n]]);
    expect(result.dict_str_str).toEqual(new Map([['key', 'val']]));
  });

  it('test_echo_all_types_with_nulls', async () => {
    const { svc } = await get();
    const data = {
      str_field: 'test',
      bytes_field: new Uint8Array(0),
      int_field: 0n,
      float_field: 0.0,
      bool_field: false,
      list_of_int: [],
      list_of_str: [],
      dict_field: new Map<string, bigint | null>(),
      enum_field: 'PENDING' as const,
      nested_point: { x: 0.0, y: 0.0 },
      optional_str: null,
      optional_int: null,
      optional_nested: null,
      list_of_nested: [],
      annotated_int32: 0,
      annotated_float32: 0.0,
      nested_list: [],
      dict_str_str: new Map<string, string | null>(),
    };
    const result = await svc.echo_all_types({ data });
    expect(result.optional_str).toBeNull();
    expect(result.optional_int).toBeNull();
    expect(result.optional_nested).toBeNull();
  });

  it('test_inspect_point', async () => {
    const { svc } = await get();
    expect(await svc.inspect_point({ point: { x: 1.5, y: 2.5 } })).toBe('Point(1.5, 2.5)');
  });

  it('test_nested_container_types', async () => {
    const { svc } = await get();
    const statuses = ['ACTIVE', 'CLOSED'] as const;
    const points = [{ x: 1.0, y: 2.0 }, { x: 3.0, y: 4.0 }];
    const statusByName = new Map([['a', 'ACTIVE'], ['c', 'CLOSED']]);
    const result = await svc.pack_nested_containers({ statuses: [...statuses], points, status_by_name: statusByName });
    expect(Object.keys(result)).toEqual(['statuses', 'points', 'status_by_name', 'frozen_statuses', 'tagged_status', 'tagged_point', 'tagged_batch']);
    expect(result.statuses).toEqual([...statuses]);
    expect(result.points).toEqual(points);
    expect(result.status_by_name).toEqual(statusByName);
    expect(result.frozen_statuses).toEqual(new Set(statuses));
    expect(result.tagged_status).toBe('ACTIVE');
    expect(result.tagged_point).toEqual(points[0]);
    // pa.RecordBatch.from_pydict({"value": [1, 2]}): one nullable int64 column.
    const batch = result.tagged_batch;
    expect(batch).not.toBeNull();
    expect(fieldsOf(batch!.schema)).toEqual(['value:Int64:true']);
    expect(batch!.numRows).toBe(2);
    expect([...batch!.getChild('value')!]).toEqual([1n, 2n]);
    expect(await svc.echo_status_list({ statuses: [...statuses] })).toEqual([...statuses]);
  });
});
