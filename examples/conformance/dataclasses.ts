/**
 * Unary methods over the reference's dataclasses (binary parameters holding a
 * nested one-row IPC stream), plus the two container methods that rebuild
 * enums and structs from lists and maps (notes §4.2).
 */
import * as A from 'apache-arrow';
import * as Effect from 'effect/Effect';
import { Errors, type Handlers, Method, T } from '../../src/index.js';
import { pyFloatRepr } from './py-format.js';
import {
  AllTypes,
  BoundingBox,
  ContainerWideTypes,
  DeepNested,
  EmbeddedArrow,
  NestedContainers,
  Point,
  type Status,
  Status as StatusType,
  WideTypes,
  isStatus,
  statusName,
} from './types.js';

/** Dataclass echoes, `inspect_point`, `pack_nested_containers` and `echo_status_list`. */
export const dataclassMethods = {
  echo_point: Method.unary({ params: { point: Point }, result: Point }),
  echo_optional_point: Method.unary({ params: { point: T.optional(Point) }, result: T.optional(Point) }),
  echo_all_types: Method.unary({ params: { data: AllTypes }, result: AllTypes }),
  echo_bounding_box: Method.unary({ params: { box: BoundingBox }, result: BoundingBox }),
  inspect_point: Method.unary({ params: { point: Point }, result: T.utf8 }),
  echo_wide_types: Method.unary({ params: { data: WideTypes }, result: WideTypes }),
  echo_container_wide_types: Method.unary({ params: { data: ContainerWideTypes }, result: ContainerWideTypes }),
  echo_embedded_arrow: Method.unary({ params: { data: EmbeddedArrow }, result: EmbeddedArrow }),
  echo_deep_nested: Method.unary({ params: { data: DeepNested }, result: DeepNested }),
  pack_nested_containers: Method.unary({
    params: {
      statuses: T.list(T.optional(statusName())),
      points: T.list(T.optional(Point)),
      status_by_name: T.map(T.utf8, T.optional(statusName())),
    },
    result: NestedContainers,
  }),
  echo_status_list: Method.unary({ params: { statuses: T.list(T.optional(statusName())) }, result: T.list(StatusType) }),
};

const STATUSES_MESSAGE = 'statuses were not reconstructed as Status members';
const POINTS_MESSAGE = 'points were not reconstructed as Point instances';
const STATUS_BY_NAME_MESSAGE = 'status_by_name values were not reconstructed as Status members';

const statusesOf = (values: readonly (string | null)[]): Status[] | undefined =>
  values.every(isStatus) ? (values as Status[]) : undefined;

const isPoint = (p: unknown): p is { x: number; y: number } => p !== null && typeof p === 'object';

/** The `tagged_batch` of `pack_nested_containers`: one nullable int64 column `value` = [1, 2]. */
export const taggedBatch = (): A.RecordBatch => {
  const schema = new A.Schema([new A.Field('value', new A.Int64(), true)]);
  const value = T.int64.encode([1n, 2n]);
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 2, nullCount: 0, children: [value] }));
};

/** Handlers of `dataclassMethods`. */
export const dataclassHandlers: Handlers<typeof dataclassMethods> = {
  echo_point: ({ point }) => Effect.succeed(point),
  echo_optional_point: ({ point }) => Effect.succeed(point),
  echo_all_types: ({ data }) => Effect.succeed(data),
  echo_bounding_box: ({ box }) => Effect.succeed(box),
  inspect_point: ({ point }) => Effect.succeed(`Point(${pyFloatRepr(point.x)}, ${pyFloatRepr(point.y)})`),
  echo_wide_types: ({ data }) => Effect.succeed(data),
  echo_container_wide_types: ({ data }) => Effect.succeed(data),
  echo_embedded_arrow: ({ data }) => Effect.succeed(data),
  echo_deep_nested: ({ data }) => Effect.succeed(data),
  pack_nested_containers: ({ statuses, points, status_by_name }) =>
    Effect.suspend(() => {
      const members = statusesOf(statuses);
      if (members === undefined) return Effect.fail(Errors.type(STATUSES_MESSAGE));
      if (!points.every(isPoint)) return Effect.fail(Errors.type(POINTS_MESSAGE));
      const byName = new Map<string, Status>();
      for (const [k, v] of status_by_name) {
        if (!isStatus(v)) return Effect.fail(Errors.type(STATUS_BY_NAME_MESSAGE));
        byName.set(k, v);
      }
      return Effect.succeed({
        statuses: members,
        points,
        status_by_name: byName,
        frozen_statuses: new Set(members),
        tagged_status: members[0] ?? null,
        tagged_point: points[0] ?? null,
        tagged_batch: taggedBatch(),
      });
    }),
  echo_status_list: ({ statuses }) => {
    const members = statusesOf(statuses);
    return members === undefined ? Effect.fail(Errors.type(STATUSES_MESSAGE)) : Effect.succeed(members);
  },
};
