/**
 * Exchange input from JSON lines (`--input FILE`, `-` for stdin). Each
 * non-blank line is one input batch: a JSON object is a one-row batch, a
 * JSON array of objects a batch of those rows. Reflection does not describe
 * an exchange's input schema, so the columns and their Arrow types are
 * inferred: from every line of a file (read whole before the call), from
 * the first line of stdin (read as it comes). Integer literals are int64
 * (float64 when the column also holds numbers with a fraction or exponent),
 * other numbers float64, strings utf8, booleans bool, arrays lists, objects
 * structs, and a column that is null throughout has the null type; columns
 * keep the order they first appear in. Lines must fit those columns. Servers
 * cast compatible numeric columns (int64 -> float64 and back) to the
 * declared input types.
 */
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import * as A from 'apache-arrow';
import type { Fields } from '../src/types/record.js';
import { fieldsOfArrow } from '../src/types/from-arrow.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { type JsonValue, parseJson } from './json-text.js';
import { ValueProblem, valueFromJson } from './param-values.js';

/** One input line: its number and its rows as parsed JSON. */
export interface InputBatch {
  readonly line: number;
  readonly rows: readonly { readonly [key: string]: JsonValue }[];
}

const dataError = (line: number | string, message: string): CliFailure =>
  new CliFailure(ExitCode.dataError, `${typeof line === 'number' ? `input line ${line}` : line}: ${message}`);

const isRow = (v: JsonValue): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Open `path` (`-`: stdin) for reading; fails with exit 66 when it cannot be opened. */
export const openInput = async (path: string): Promise<Readable> => {
  if (path === '-') return process.stdin;
  try {
    const handle = await open(path, 'r');
    return handle.createReadStream({ encoding: 'utf8' });
  } catch (e) {
    throw new CliFailure(ExitCode.noInput, `cannot read --input ${path}: ${(e as Error).message}`);
  }
};

/** The input batches of a JSON-lines stream, read as they arrive. */
export async function* inputBatches(input: Readable): AsyncGenerator<InputBatch> {
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let v: JsonValue;
    try {
      v = parseJson(text);
    } catch (e) {
      throw dataError(line, `not JSON: ${(e as Error).message}`);
    }
    if (isRow(v)) yield { line, rows: [v] };
    else if (Array.isArray(v) && v.every(isRow)) yield { line, rows: v as { [key: string]: JsonValue }[] };
    else throw dataError(line, 'expected a JSON object (one row) or an array of objects (a batch of rows)');
  }
}

const inferType = (values: readonly JsonValue[], line: number | string, where: string): { type: A.DataType; nullable: boolean } => {
  const present = values.filter((v) => v !== null);
  const nullable = present.length < values.length;
  if (present.length === 0) return { type: new A.Null(), nullable: true };
  const kinds = new Set<string>(present.map((v) => (Array.isArray(v) ? 'array' : typeof v)));
  const only = (k: string) => kinds.size === 1 && kinds.has(k);
  if (only('bigint')) return { type: new A.Int64(), nullable };
  if ([...kinds].every((k) => k === 'bigint' || k === 'number')) return { type: new A.Float64(), nullable };
  if (only('string')) return { type: new A.Utf8(), nullable };
  if (only('boolean')) return { type: new A.Bool(), nullable };
  if (only('array')) {
    const item = inferType((present as JsonValue[][]).flat(), line, `${where}[]`);
    return { type: new A.List(new A.Field('item', item.type, true)), nullable };
  }
  if (only('object')) return { type: new A.Struct(inferFields(present as { [key: string]: JsonValue }[], line, `${where}.`)), nullable };
  throw dataError(line, `column '${where}' mixes ${[...kinds].map((k) => (k === 'bigint' ? 'integer' : k)).join(' and ')} values`);
};

const inferFields = (rows: readonly { readonly [key: string]: JsonValue }[], line: number | string, prefix: string): A.Field[] => {
  const names: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  return names.map((name) => {
    const { type, nullable } = inferType(rows.map((r) => r[name] ?? null), line, `${prefix}${name}`);
    return new A.Field(name, type, nullable || rows.some((r) => !(name in r)));
  });
};

/** The input columns the rows of `batches` imply. */
export const inferInputSchema = (batches: readonly InputBatch[]): A.Schema => {
  const where = batches.length === 1 ? batches[0]!.line : `input lines ${batches[0]?.line ?? 0}-${batches.at(-1)?.line ?? 0}`;
  return new A.Schema(inferFields(batches.flatMap((b) => b.rows), where, ''));
};

/** The field set of an inferred input schema. */
export const inputFields = (schema: A.Schema): Fields => fieldsOfArrow(schema.fields);

/** A batch's rows as values of the input columns; fails with exit 65 when a row does not fit them. */
export const conformRows = (schema: A.Schema, batch: InputBatch): Record<string, unknown>[] => {
  const names = new Set(schema.fields.map((f) => f.name));
  return batch.rows.map((row) => {
    const extra = Object.keys(row).filter((k) => !names.has(k));
    if (extra.length > 0) throw dataError(batch.line, `column(s) ${extra.join(', ')} not in the first line's columns (${[...names].join(', ')})`);
    const out: Record<string, unknown> = {};
    for (const f of schema.fields) {
      const v = row[f.name] ?? null;
      try {
        out[f.name] = valueFromJson(f.type, v, `column '${f.name}'`);
      } catch (e) {
        if (e instanceof ValueProblem) {
          const hint = f.type.typeId === A.Type.Int ? ' (the first line had an integer here: write 1.0 there for a float column)' : '';
          throw dataError(batch.line, `${e.message}${hint}`);
        }
        throw e;
      }
      if (v === null && !f.nullable) throw dataError(batch.line, `column '${f.name}' is null but the first line's value was not`);
    }
    return out;
  });
};
