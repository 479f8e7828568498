/**
 * The CLI's readers, in process: `--cmd` word splitting, JSON with exact
 * integers, `key=value` / `key:=JSON` parameters by Arrow type, and the
 * column types inferred from exchange input lines.
 */
import * as A from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { shellWords } from '../../cli/shell-words.js';
import { parseJson, writeJson } from '../../cli/json-text.js';
import { ValueProblem, parseAssignments } from '../../cli/param-values.js';
import { conformRows, inferInputSchema } from '../../cli/exchange-input.js';
import { CliFailure } from '../../cli/exit-codes.js';
import { typeToken } from '../../src/types/type-tokens.js';

const schema = (fields: [string, A.DataType, boolean?][]) => new A.Schema(fields.map(([n, t, nullable]) => new A.Field(n, t, nullable ?? false)));

describe('shellWords', () => {
  it('splits like a shell: quotes, escapes, no expansion', () => {
    expect(shellWords(`node  'my dir/w.js' --name "a \\"b\\" $HOME" c\\ d ''`)).toEqual(['node', 'my dir/w.js', '--name', 'a "b" $HOME', 'c d', '']);
    expect(() => shellWords(`node 'open`)).toThrow(/unterminated/);
  });
});

describe('JSON with exact integers', () => {
  it('reads integer literals as bigint and others as numbers, and writes them back', () => {
    const v = parseJson('{"big": 18446744073709551615, "f": 1.0, "e": 1e3, "l": [true, null, "x"]}');
    expect(v).toEqual({ big: 18446744073709551615n, f: 1, e: 1000, l: [true, null, 'x'] });
    expect(typeof (v as { f: unknown }).f).toBe('number');
    expect(writeJson(v)).toBe('{"big":18446744073709551615,"f":1,"e":1000,"l":[true,null,"x"]}');
    expect(() => parseJson('{"a": 1,}')).toThrow(SyntaxError);
    expect(() => parseJson('[1] x')).toThrow(/after the value/);
  });
});

describe('parseAssignments', () => {
  const params = schema([
    ['i', new A.Int64()], ['s', new A.Int16()], ['f', new A.Float64()], ['b', new A.Bool()], ['t', new A.Utf8()],
    ['bin', new A.Binary()], ['d', new A.DateDay()], ['ts', new A.TimestampMicrosecond('UTC')],
    ['l', new A.List(new A.Field('item', new A.Int32(), true))], ['m', new A.Map_(new A.Field('entries', new A.Struct<any>([new A.Field('key', new A.Int64(), false), new A.Field('value', new A.Utf8(), true)])))],
    ['st', new A.Struct([new A.Field('x', new A.Float64(), false), new A.Field('y', new A.Utf8(), true)])], ['o', new A.Utf8(), true],
  ]);

  it('reads each value by its declared type', () => {
    const v = parseAssignments([
      'i=-9223372036854775808', 's=-7', 'f=inf', 'b=yes', 't=a=b c', 'bin=hex:00ff', 'd=1970-01-11', 'ts=1970-01-01T00:00:01.000002Z',
      'l=[1, null, 3]', 'm={"5": "five"}', 'st:={"x": 1}', 'o:=null',
    ], params, 'm');
    expect(v).toEqual({
      i: -9223372036854775808n, s: -7, f: Infinity, b: true, t: 'a=b c', bin: Uint8Array.from([0, 255]), d: 10, ts: 1_000_002n,
      l: [1, null, 3], m: new Map([[5n, 'five']]), st: { x: 1, y: null }, o: null,
    });
    expect(parseAssignments(['bin=base64:AAE=', 't:="quoted"', 'f:=2'], params, 'm')).toEqual({ bin: Uint8Array.from([0, 1]), t: 'quoted', f: 2 });
    expect(parseAssignments(['bin=plain'], params, 'm')).toEqual({ bin: new TextEncoder().encode('plain') });
  });

  it('rejects what does not fit, naming the parameter', () => {
    const bad = (arg: string, message: RegExp) => expect(() => parseAssignments([arg], params, 'm')).toThrow(message);
    bad('i=1.5', /parameter 'i' \(int64\): expected an integer/);
    bad('s=40000', /parameter 's' \(int16\): expected int16/);
    bad('b=maybe', /expected a boolean/);
    bad('bin=hex:abc', /hex digits/);
    bad('st:={"z": 1}', /unknown field\(s\) z/);
    bad('nope=1', /m has no parameter 'nope' \(parameters: i: int64/);
    bad('i', /not key=value/);
    expect(() => parseAssignments(['i=1', 'i=2'], params, 'm')).toThrow(ValueProblem);
  });
});

describe('exchange input columns', () => {
  const line = (n: number, text: string) => {
    const v = parseJson(text);
    return { line: n, rows: (Array.isArray(v) ? v : [v]) as { [k: string]: never }[] };
  };

  it('infers types from the lines, widening integers to float64 when fractions appear', () => {
    const batches = [line(1, '{"a": 1, "b": "x", "c": [1, 2]}'), line(2, '[{"a": 2.5, "b": null, "c": [], "d": {"k": true}}]')];
    const s = inferInputSchema(batches);
    expect(s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}:${typeToken(f.type)}`)).toEqual(['a:float64', 'b?:utf8', 'c:list<item?:int64>', 'd?:struct<k:bool>']);
    expect(conformRows(s, batches[0]!)).toEqual([{ a: 1, b: 'x', c: [1n, 2n], d: null }]);
  });

  it('fails with exit 65 on mixed kinds or a row outside the columns', () => {
    const expectData = (f: () => unknown, message: RegExp) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(CliFailure);
        expect((e as CliFailure).code).toBe(65);
        expect((e as Error).message).toMatch(message);
      }
    };
    expectData(() => inferInputSchema([line(3, '[{"a": 1}, {"a": "1"}]')]), /input line 3: column 'a' mixes integer and string/);
    const s = inferInputSchema([line(1, '{"a": 1}')]);
    expectData(() => conformRows(s, line(2, '{"a": 1, "z": 2}')), /input line 2: column\(s\) z not in/);
    expectData(() => conformRows(s, line(4, '{"a": 0.5}')), /input line 4: .*expected an integer/);
  });
});
