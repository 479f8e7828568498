/**
 * Scalar value types: strings, binaries, integers of every width, floats,
 * booleans, temporal types, decimals and fixed-size binaries.
 */
import * as A from 'apache-arrow';
import { type ValueType, badValue, isValid, makeColumn, validityOf } from './value-type.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type NumCtor = Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor
  | Uint16ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;

const numberType = (label: string, arrowType: A.DataType, ctor: NumCtor, integral: boolean, min: number, max: number): ValueType<number> => ({
  label,
  arrowType,
  nullable: false,
  encode(values) {
    // A typed array of exactly this type has no nulls: use it without copying.
    if ((values as unknown) instanceof ctor) return makeColumn(arrowType, values.length, 0, undefined, values);
    const out = new ctor(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'number' || (integral && (!Number.isInteger(v) || v < min || v > max))) badValue(label, v);
      out[i] = v as number;
    }
    const { bitmap, nullCount } = validityOf(values);
    return makeColumn(arrowType, values.length, nullCount, bitmap, out);
  },
  decode(data, i) {
    return (data.values as ArrayLike<number>)[i]!;
  },
});

const bigintType = (label: string, arrowType: A.DataType, signed: boolean): ValueType<bigint> => {
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  return {
    label,
    arrowType,
    nullable: false,
    encode(values) {
      if ((values as unknown) instanceof (signed ? BigInt64Array : BigUint64Array)) return makeColumn(arrowType, values.length, 0, undefined, values);
      const out = signed ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const raw = values[i] as unknown;
        if (raw === null || raw === undefined) continue;
        // A number is taken only when it is an exact integer (|n| <= 2^53 - 1); beyond that it has
        // already lost precision, so converting it would send a value the caller never wrote.
        const v = typeof raw === 'number' && Number.isSafeInteger(raw) ? BigInt(raw) : raw;
        if (typeof v !== 'bigint' || v < min || v > max) {
          if (typeof raw === 'number' && Number.isInteger(raw)) throw new TypeError(`expected ${label}, got the number ${raw}, beyond 2^53 - 1 where numbers lose precision: pass a bigint`);
          badValue(label, raw);
        }
        out[i] = v as bigint;
      }
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(arrowType, values.length, nullCount, bitmap, out);
    },
    decode(data, i) {
      return (data.values as BigInt64Array | BigUint64Array)[i]!;
    },
  };
};

/** Variable-width byte-string type (utf8, binary and their large forms). */
const bytesType = <V extends string | Uint8Array>(label: string, arrowType: A.DataType, large: boolean, text: boolean): ValueType<V> => ({
  label,
  arrowType,
  nullable: false,
  encode(values) {
    const parts: Uint8Array[] = new Array(values.length);
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as unknown;
      if (v === null || v === undefined) {
        parts[i] = new Uint8Array(0);
        continue;
      }
      let bytes: Uint8Array;
      if (text) {
        if (typeof v !== 'string') badValue(label, v);
        bytes = encoder.encode(v as string);
      } else {
        if (!(v instanceof Uint8Array)) badValue(label, v);
        bytes = v as Uint8Array;
      }
      parts[i] = bytes;
      total += bytes.byteLength;
    }
    const data = new Uint8Array(total);
    const offsets = large ? new BigInt64Array(values.length + 1) : new Int32Array(values.length + 1);
    let pos = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      data.set(p, pos);
      pos += p.byteLength;
      if (large) (offsets as BigInt64Array)[i + 1] = BigInt(pos);
      else {
        if (pos > 0x7fffffff) throw new RangeError(`${label} column exceeds 2 GiB; use a large_ type`);
        (offsets as Int32Array)[i + 1] = pos;
      }
    }
    const { bitmap, nullCount } = validityOf(values);
    return makeColumn(arrowType, values.length, nullCount, bitmap, data, offsets);
  },
  decode(data, i) {
    const offsets = data.valueOffsets as Int32Array | BigInt64Array;
    const start = Number(offsets[i]);
    const end = Number(offsets[i + 1]);
    const bytes = (data.values as Uint8Array).subarray(start, end);
    return (text ? decoder.decode(bytes) : bytes) as V;
  },
});

/** utf8 string. */
export const utf8: ValueType<string> = bytesType<string>('utf8', new A.Utf8(), false, true);
/** large_utf8 string (64-bit offsets). */
export const largeUtf8: ValueType<string> = bytesType<string>('large_utf8', new A.LargeUtf8(), true, true);
/** Variable-length binary. */
export const binary: ValueType<Uint8Array> = bytesType<Uint8Array>('binary', new A.Binary(), false, false);
/** large_binary (64-bit offsets). */
export const largeBinary: ValueType<Uint8Array> = bytesType<Uint8Array>('large_binary', new A.LargeBinary(), true, false);

/** 8-bit signed integer. */
export const int8 = numberType('int8', new A.Int8(), Int8Array, true, -128, 127);
/** 16-bit signed integer. */
export const int16 = numberType('int16', new A.Int16(), Int16Array, true, -32768, 32767);
/** 32-bit signed integer. */
export const int32 = numberType('int32', new A.Int32(), Int32Array, true, -2147483648, 2147483647);
/** 8-bit unsigned integer. */
export const uint8 = numberType('uint8', new A.Uint8(), Uint8Array, true, 0, 255);
/** 16-bit unsigned integer. */
export const uint16 = numberType('uint16', new A.Uint16(), Uint16Array, true, 0, 65535);
/** 32-bit unsigned integer. */
export const uint32 = numberType('uint32', new A.Uint32(), Uint32Array, true, 0, 4294967295);
/** 64-bit signed integer, as bigint; a number is accepted when encoding only if it is a safe integer (else a TypeError). */
export const int64 = bigintType('int64', new A.Int64(), true);
/** 64-bit unsigned integer, as bigint; a number is accepted when encoding only if it is a safe integer (else a TypeError). */
export const uint64 = bigintType('uint64', new A.Uint64(), false);
/** 32-bit float. */
export const float32 = numberType('float32', new A.Float32(), Float32Array, false, 0, 0);
/** 64-bit float. */
export const float64 = numberType('float64', new A.Float64(), Float64Array, false, 0, 0);

/** Boolean. */
export const bool: ValueType<boolean> = {
  label: 'bool',
  arrowType: new A.Bool(),
  nullable: false,
  encode(values) {
    const bits = new Uint8Array((values.length + 7) >> 3);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'boolean') badValue('bool', v);
      if (v) bits[i >> 3]! |= 1 << (i & 7);
    }
    const { bitmap, nullCount } = validityOf(values);
    return makeColumn(this.arrowType, values.length, nullCount, bitmap, bits);
  },
  decode(data, i) {
    const j = data.offset + i;
    return (((data.values as Uint8Array)[j >> 3] ?? 0) & (1 << (j & 7))) !== 0;
  },
};

/** date32: days since the UNIX epoch, as a number. */
export const date32 = numberType('date32', new A.DateDay(), Int32Array, true, -2147483648, 2147483647);

/** timestamp(us) without a time zone: microseconds since the epoch, as bigint. */
export const timestampUs = bigintType('timestamp(us)', new A.TimestampMicrosecond(), true);
/** timestamp(us, tz) with a time zone (default "UTC"): microseconds since the epoch, as bigint. */
export const timestampUsTz = (tz = 'UTC'): ValueType<bigint> => bigintType(`timestamp(us,tz=${tz})`, new A.TimestampMicrosecond(tz), true);
/** time64(us): microseconds since midnight, as bigint. */
export const time64Us = bigintType('time64(us)', new A.TimeMicrosecond(), true);
/** duration(us): microseconds, as bigint. */
export const durationUs = bigintType('duration(us)', new A.DurationMicrosecond(), true);

/** fixed_size_binary(width). */
export const fixedSizeBinary = (width: number): ValueType<Uint8Array> => {
  const arrowType = new A.FixedSizeBinary(width);
  const label = `fixed_size_binary(${width})`;
  return {
    label,
    arrowType,
    nullable: false,
    encode(values) {
      const out = new Uint8Array(values.length * width);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as unknown;
        if (v === null || v === undefined) continue;
        if (!(v instanceof Uint8Array) || v.byteLength !== width) badValue(label, v);
        out.set(v as Uint8Array, i * width);
      }
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(arrowType, values.length, nullCount, bitmap, out);
    },
    decode(data, i) {
      return Uint8Array.prototype.slice.call(data.values as Uint8Array, i * width, (i + 1) * width);
    },
  };
};

const parseDecimal = (s: string, scale: number, label: string): bigint => {
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return badValue(label, s);
  const frac = m[3] ?? '';
  if (frac.length > scale && /[^0]/.test(frac.slice(scale))) return badValue(label, s);
  const digits = (m[2] ?? '') + frac.slice(0, scale).padEnd(scale, '0');
  const v = BigInt(digits === '' ? '0' : digits);
  return m[1] === '-' ? -v : v;
};

/** decimal128(precision, scale) as a decimal string such as "-12.3400" (exactly `scale` fraction digits when decoded). */
export const decimal128 = (precision: number, scale: number): ValueType<string> => {
  const arrowType = new A.Decimal(scale, precision, 128);
  const label = `decimal128(${precision},${scale})`;
  const limit = 10n ** BigInt(precision);
  return {
    label,
    arrowType,
    nullable: false,
    encode(values) {
      const out = new BigUint64Array(values.length * 2);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as unknown;
        if (v === null || v === undefined) continue;
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') badValue(label, v);
        const unscaled = parseDecimal(String(v), scale, label);
        if (unscaled >= limit || unscaled <= -limit) badValue(label, v);
        const twos = BigInt.asUintN(128, unscaled);
        out[i * 2] = twos & 0xffffffffffffffffn;
        out[i * 2 + 1] = twos >> 64n;
      }
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(arrowType, values.length, nullCount, bitmap, new Uint32Array(out.buffer));
    },
    decode(data, i) {
      const words = data.values as Uint32Array;
      let u = 0n;
      for (let w = 3; w >= 0; w--) u = (u << 32n) | BigInt(words[i * 4 + w]!);
      const v = BigInt.asIntN(128, u);
      const neg = v < 0n;
      const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
      const int = digits.slice(0, digits.length - scale);
      const frac = digits.slice(digits.length - scale);
      return `${neg ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
    },
  };
};

/** The Arrow null type; every value is null. */
export const nullType: ValueType<null> = {
  label: 'null',
  arrowType: new A.Null(),
  nullable: true,
  encode(values) {
    return makeColumn(this.arrowType, values.length, values.length, undefined, undefined);
  },
  decode() {
    return null;
  },
};

export { isValid };
