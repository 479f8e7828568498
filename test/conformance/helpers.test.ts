import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { T } from '../../src/index.js';
import { codePointCompare, pyFloatRepr } from '../../examples/conformance/py-format.js';
import { buildRichHeader } from '../../examples/conformance/rich-header.js';
import { CancelProbe } from '../../examples/conformance/cancel-probe.js';
import { NestedContainers, Status } from '../../examples/conformance/types.js';
import { taggedBatch } from '../../examples/conformance/dataclasses.js';

describe('Python spellings', () => {
  it('formats floats like Python str()', () => {
    const cases: [number, string][] = [
      [2, '2.0'], [0.1, '0.1'], [1e16, '1e+16'], [1e15, '1000000000000000.0'], [1.5e-7, '1.5e-07'],
      [0.0001, '0.0001'], [0.00001, '1e-05'], [-0, '-0.0'], [0, '0.0'], [123456789012345678, '1.2345678901234568e+17'],
      [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'], [1 / 3, '0.3333333333333333'], [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'], [-12345.678, '-12345.678'], [1e21, '1e+21'], [2.5e-5, '2.5e-05'],
    ];
    for (const [x, want] of cases) expect(pyFloatRepr(x)).toBe(want);
  });

  it('sorts by code point', () => {
    expect(['\u{1F600}', '\uFFFF', 'a'].sort(codePointCompare)).toEqual(['a', '\uFFFF', '\u{1F600}']);
  });
});

describe('build_rich_header', () => {
  it('reproduces the reference values for seed 42', () => {
    expect(buildRichHeader(42n)).toEqual({
      str_field: 'seed-42', bytes_field: Uint8Array.of(0x2a, 0x2b, 0x2c), int_field: 294n, float_field: 63, bool_field: true,
      list_of_int: [42n, 43n, 44n], list_of_str: ['item-42', 'item-43'], dict_field: new Map([['a', 42n], ['b', 43n]]),
      enum_field: 'PENDING', nested_point: { x: 42, y: 84 }, optional_str: 'opt-42', optional_int: null,
      optional_nested: { x: 42, y: 0 }, list_of_nested: [{ x: 42, y: 43 }], nested_list: [[42n, 43n], [44n]],
      annotated_int32: 42, annotated_float32: 14, dict_str_str: new Map([['key', 'val-42']]),
    });
  });

  it('uses Python modulo for negative seeds', () => {
    const h = buildRichHeader(-1n);
    expect(h.bytes_field).toEqual(Uint8Array.of(0xff, 0x00, 0x01));
    expect(h.enum_field).toBe('CLOSED');
    expect(h.optional_int).toBe(-3n);
    expect(h.annotated_int32).toBe(999);
    expect(h.bool_field).toBe(false);
    expect(h.optional_nested).toBeNull();
    expect(h.annotated_float32).toBe(Math.fround(-1 / 3));
  });
});

describe('cancel probe', () => {
  it('shares counters through the probe file in the reference format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    const file = join(dir, 'counters.json');
    try {
      const a = new CancelProbe(() => file);
      const b = new CancelProbe(() => file);
      expect(a.snapshot()).toEqual([0, 0, 0]);
      a.bump('produce_calls');
      b.bump('on_cancel_calls');
      b.bump('produce_calls');
      expect(a.snapshot()).toEqual([2, 0, 1]);
      expect(readFileSync(file, 'utf8')).toBe('{"produce_calls": 2, "exchange_calls": 0, "on_cancel_calls": 1}');
      b.reset();
      expect(a.snapshot()).toEqual([0, 0, 0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps in-memory counters when no file is named', () => {
    const p = new CancelProbe(() => undefined);
    p.bump('exchange_calls');
    expect(p.snapshot()).toEqual([0, 1, 0]);
    p.reset();
    expect(p.snapshot()).toEqual([0, 0, 0]);
  });
});

describe('value types added for the conformance service', () => {
  it('gives each dictionary field its own id', () => {
    const value = {
      statuses: ['ACTIVE' as const, 'ACTIVE' as const], points: [], status_by_name: new Map([['x', 'CLOSED' as const]]),
      frozen_statuses: new Set(['ACTIVE' as const]), tagged_status: null, tagged_point: null, tagged_batch: taggedBatch(),
    };
    const ids = new Set<number>();
    const walk = (t: A.DataType): void => {
      if (A.DataType.isDictionary(t)) ids.add(t.id);
      for (const c of t.children ?? []) walk(c.type);
    };
    for (const f of NestedContainers.schema.fields) walk(f.type);
    expect(ids.size).toBe(4);
    const back = NestedContainers.fromIpc(NestedContainers.toIpc(value));
    expect(back.statuses).toEqual(['ACTIVE', 'ACTIVE']);
    expect(back.status_by_name).toEqual(new Map([['x', 'CLOSED']]));
    expect(back.frozen_statuses).toEqual(new Set(['ACTIVE']));
    expect(back.tagged_status).toBeNull();
  });

  it('reads the legacy lowercase value of a Status inside a dataclass', () => {
    const R = T.record('R', { s: NestedContainers.fields.tagged_status });
    const legacy = T.record('R', { s: T.optional(T.dictionaryString) });
    expect(R.fromIpc(legacy.toIpc({ s: 'closed' }))).toEqual({ s: 'CLOSED' });
    expect(() => R.fromIpc(legacy.toIpc({ s: 'nope' }))).toThrow(`'nope' is not a valid Status`);
    expect(Status.members).toEqual(['PENDING', 'ACTIVE', 'CLOSED']);
  });

  it('dedups frozensets', () => {
    const t = T.frozenset(T.int64);
    const col = t.encode([new Set([3n, 1n]), [2n, 2n] as unknown as Set<bigint>]);
    expect(t.decode(col, 0)).toEqual(new Set([3n, 1n]));
    expect([...t.decode(col, 1)]).toEqual([2n]);
  });

  it('writes an embedded Schema as one message without EOS and reads it with or without', () => {
    const schema = new A.Schema([new A.Field('a', new A.Utf8(), true)], new Map([['m', '1']]));
    const col = T.schemaMessageValue.encode([schema]);
    const bytes = T.binary.decode(col, 0);
    expect([...bytes.subarray(bytes.length - 8)]).not.toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const back = T.schemaMessageValue.decode(col, 0);
    expect(back.fields.map((f) => f.name)).toEqual(['a']);
    expect(back.metadata.get('m')).toBe('1');
    const withEos = T.binary.encode([new Uint8Array([...bytes, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]);
    expect(T.schemaMessageValue.decode(withEos, 0).fields[0]!.name).toBe('a');
  });
});
