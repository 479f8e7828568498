/**
 * Peer-client cross-check of TestUnaryDataclass
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/unary-dataclass.test.ts), driven by the npm peer's
 * client against our conformance worker (`--generation 89`),
 * over pipes and over HTTP (`peerGroups` in peer-support.ts).
 *
 * The peer has no dataclass types: a record parameter or result is a binary
 * column holding a one-row Arrow IPC stream, which these tests encode and
 * decode with `@query-farm/apache-arrow` (the peer's Arrow), building the
 * reference's schemas by hand (nested records are structs, list items and
 * map values nullable, Status a dictionary<int16, utf8>). Containers that are
 * parameters of their own (`pack_nested_containers`, `echo_status_list`) go
 * through the peer's own value encoding (list<struct>, list<dictionary>,
 * map<utf8, dictionary>).
 *
 * Not run with the peer client: none (all 6 cases are expressible).
 */
import * as A from '@query-farm/apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  approx,
  bytesOf,
  decodeRecord,
  entriesOf,
  field,
  listOf,
  listType,
  mapType,
  pointFields,
  pointOf,
  pointStruct,
  recordIpc,
  result,
  statusType,
  peerGroups,
} from './peer-support.js';

peerGroups((worker) => {
  const call = (method: string, params?: Record<string, unknown>) => result(worker().client, method, params);

  /** BoundingBox(top_left: Point, bottom_right: Point, label: str). */
  const boundingBoxFields = (): A.Field[] => [field('top_left', pointStruct()), field('bottom_right', pointStruct()), field('label', new A.Utf8())];

  /** AllTypes, in the reference's field order (`annotated_*` before `nested_list`). */
  const allTypesFields = (): A.Field[] => [
    field('str_field', new A.Utf8()),
    field('bytes_field', new A.Binary()),
    field('int_field', new A.Int64()),
    field('float_field', new A.Float64()),
    field('bool_field', new A.Bool()),
    field('list_of_int', listType(new A.Int64())),
    field('list_of_str', listType(new A.Utf8())),
    field('dict_field', mapType(new A.Utf8(), new A.Int64())),
    field('enum_field', statusType()),
    field('nested_point', pointStruct()),
    field('optional_str', new A.Utf8(), true),
    field('optional_int', new A.Int64(), true),
    field('optional_nested', pointStruct(), true),
    field('list_of_nested', listType(pointStruct())),
    field('annotated_int32', new A.Int32()),
    field('annotated_float32', new A.Float32()),
    field('nested_list', listType(listType(new A.Int64()))),
    field('dict_str_str', mapType(new A.Utf8(), new A.Utf8())),
  ];

  const ALL_TYPES_SHAPE = [
    'str_field:Utf8:false',
    'bytes_field:Binary:false',
    'int_field:Int64:false',
    'float_field:Float64:false',
    'bool_field:Bool:false',
    'list_of_int:List<Int64>:false',
    'list_of_str:List<Utf8>:false',
    'dict_field:Map<{key:Utf8, value:Int64}>:false',
    'enum_field:Dictionary<Int16, Utf8>:false',
    'nested_point:Struct<{x:Float64, y:Float64}>:false',
    'optional_str:Utf8:true',
    'optional_int:Int64:true',
    'optional_nested:Struct<{x:Float64, y:Float64}>:true',
    'list_of_nested:List<Struct<{x:Float64, y:Float64}>>:false',
    'annotated_int32:Int32:false',
    'annotated_float32:Float32:false',
    'nested_list:List<List<Int64>>:false',
    'dict_str_str:Map<{key:Utf8, value:Utf8}>:false',
  ];

  describe('TestUnaryDataclass [peer client]', () => {
    it('test_echo_point', async () => {
      const result = decodeRecord(await call('echo_point', { point: recordIpc(pointFields(), { x: 1.5, y: 2.5 }) }));
      expect(result.names).toEqual(['x', 'y']);
      expect(result.get('x')).toBeCloseTo(1.5, 12);
      expect(result.get('y')).toBeCloseTo(2.5, 12);
    });

    it('test_echo_bounding_box', async () => {
      const box = { top_left: { x: 0.0, y: 10.0 }, bottom_right: { x: 10.0, y: 0.0 }, label: 'test' };
      const result = decodeRecord(await call('echo_bounding_box', { box: recordIpc(boundingBoxFields(), box) }));
      expect(result.names).toEqual(['top_left', 'bottom_right', 'label']);
      expect(pointOf(result.get('top_left')).x).toBeCloseTo(0.0, 12);
      expect(pointOf(result.get('top_left')).y).toBeCloseTo(10.0, 12);
      expect(pointOf(result.get('bottom_right')).x).toBeCloseTo(10.0, 12);
      expect(result.get('label')).toBe('test');
    });

    it('test_echo_all_types', async () => {
      const data = {
        str_field: 'hello',
        bytes_field: Uint8Array.of(1, 2, 3),
        int_field: 42n,
        float_field: 3.14,
        bool_field: true,
        list_of_int: [1n, 2n, 3n],
        list_of_str: ['a', 'b'],
        dict_field: new Map([['k', 1n]]),
        enum_field: 'ACTIVE',
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
      const result = decodeRecord(await call('echo_all_types', { data: recordIpc(allTypesFields(), data) }));
      expect(result.names).toHaveLength(18);
      expect(result.fields).toEqual(ALL_TYPES_SHAPE);
      expect(result.get('str_field')).toBe('hello');
      expect(bytesOf(result.get('bytes_field'))).toEqual([1, 2, 3]);
      expect(result.get('int_field')).toBe(42n);
      expect(result.get('float_field')).toBeCloseTo(3.14, 12);
      expect(result.get('bool_field')).toBe(true);
      expect(listOf(result.get('list_of_int'))).toEqual([1n, 2n, 3n]);
      expect(listOf(result.get('list_of_str'))).toEqual(['a', 'b']);
      expect(entriesOf(result.get('dict_field'))).toEqual([['k', 1n]]);
      expect(result.get('enum_field')).toBe('ACTIVE');
      expect(pointOf(result.get('nested_point')).x).toBeCloseTo(1.0, 12);
      expect(result.get('optional_str')).toBe('present');
      expect(result.get('optional_int')).toBe(7n);
      expect(result.get('optional_nested')).not.toBeNull();
      expect(pointOf(result.get('optional_nested')).x).toBeCloseTo(3.0, 12);
      expect(listOf(result.get('list_of_nested'))).toHaveLength(1);
      expect(result.get('annotated_int32')).toBe(100);
      expect(result.get('annotated_float32')).toBeCloseTo(1.5, 6);
      expect(listOf(result.get('nested_list'))).toEqual([[1n, 2n], [3n]]);
      expect(entriesOf(result.get('dict_str_str'))).toEqual([['key', 'val']]);
    });

    it('test_echo_all_types_with_nulls', async () => {
      const data = {
        str_field: 'test',
        bytes_field: new Uint8Array(0),
        int_field: 0n,
        float_field: 0.0,
        bool_field: false,
        list_of_int: [],
        list_of_str: [],
        dict_field: new Map<string, bigint | null>(),
        enum_field: 'PENDING',
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
      const result = decodeRecord(await call('echo_all_types', { data: recordIpc(allTypesFields(), data) }));
      expect(result.get('optional_str')).toBeNull();
      expect(result.get('optional_int')).toBeNull();
      expect(result.get('optional_nested')).toBeNull();
    });

    it('test_inspect_point', async () => {
      expect(await call('inspect_point', { point: recordIpc(pointFields(), { x: 1.5, y: 2.5 }) })).toBe('Point(1.5, 2.5)');
    });

    it('test_nested_container_types', async () => {
      const statuses = ['ACTIVE', 'CLOSED'];
      const points = [{ x: 1.0, y: 2.0 }, { x: 3.0, y: 4.0 }];
      const statusByName = new Map([['a', 'ACTIVE'], ['c', 'CLOSED']]);
      const result = decodeRecord(await call('pack_nested_containers', { statuses, points, status_by_name: statusByName }));
      expect(result.names).toEqual(['statuses', 'points', 'status_by_name', 'frozen_statuses', 'tagged_status', 'tagged_point', 'tagged_batch']);
      expect(listOf(result.get('statuses'))).toEqual(statuses);
      const gotPoints = listOf(result.get('points')).map(pointOf);
      expect(gotPoints).toHaveLength(2);
      gotPoints.forEach((p, i) => {
        approx(p.x, points[i]!.x);
        approx(p.y, points[i]!.y);
      });
      expect(entriesOf(result.get('status_by_name'))).toEqual([...statusByName]);
      // frozenset: a list on the wire, order carries no meaning.
      expect(new Set(listOf(result.get('frozen_statuses')))).toEqual(new Set(statuses));
      expect(listOf(result.get('frozen_statuses'))).toHaveLength(2);
      expect(result.get('tagged_status')).toBe('ACTIVE');
      const taggedPoint = pointOf(result.get('tagged_point'));
      approx(taggedPoint.x, 1.0);
      approx(taggedPoint.y, 2.0);
      // pa.RecordBatch.from_pydict({"value": [1, 2]}): one nullable int64 column, as binary IPC.
      const batch = A.tableFromIPC(result.get('tagged_batch') as Uint8Array);
      expect(batch.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual(['value:Int64:true']);
      expect(batch.numRows).toBe(2);
      expect([...batch.getChild('value')!]).toEqual([1n, 2n]);
      expect(listOf(await call('echo_status_list', { statuses }))).toEqual(statuses);
    });
  });
});
