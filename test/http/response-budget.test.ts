/**
 * The reference's language-neutral response-budget vectors
 * (vgi_rpc/conformance/http_response_budget_vectors.json @ de5e950, version 1),
 * with the same inputs and expected values, plus the continuation rule.
 */
import { describe, expect, it } from 'vitest';
import {
  ACCEPT_MAX_RESPONSE_BYTES_HEADER,
  ACCEPT_MAX_RESPONSE_BYTES_SUPPORT_HEADER,
  MAX_RESPONSE_BUDGET_BYTES,
  ResponseBudgetHeaderError,
  acceptMaxResponseBytesOf,
  continuationBudget,
  effectiveRequestLimit,
  effectiveResponseBudget,
  parseAcceptMaxResponseBytes,
} from '../../src/http/response-budget.js';

const VECTORS = {
  request_header: 'VGI-Accept-Max-Response-Bytes',
  support_header: 'VGI-Accept-Max-Response-Bytes-Support',
  maximum: 9007199254740991,
  valid_values: [
    { raw: '65536', value: 65536 },
    { raw: '268435456', value: 268435456 },
    { raw: '9007199254740991', value: 9007199254740991 },
  ],
  invalid_values: ['', '0', '1', '65535', '01', '+1', '-1', '1.0', '1, 2', '9007199254740992', '\u0661'],
  precedence: [
    { application: null, hosting: null, client: null, preferred: null, effective: null, effective_preferred: null },
    { application: 100000, hosting: 80000, client: 70000, preferred: 90000, effective: 70000, effective_preferred: 70000 },
    { application: 70000, hosting: 80000, client: 90000, preferred: 66000, effective: 70000, effective_preferred: 66000 },
  ],
} as const;

const opt = (v: number | null): number | undefined => (v === null ? undefined : v);

describe('response budget vectors', () => {
  it('header names and maximum', () => {
    expect(ACCEPT_MAX_RESPONSE_BYTES_HEADER).toBe(VECTORS.request_header);
    expect(ACCEPT_MAX_RESPONSE_BYTES_SUPPORT_HEADER).toBe(VECTORS.support_header);
    expect(MAX_RESPONSE_BUDGET_BYTES).toBe(VECTORS.maximum);
  });

  for (const { raw, value } of VECTORS.valid_values) {
    it(`valid ${JSON.stringify(raw)}`, () => {
      expect(parseAcceptMaxResponseBytes(raw)).toBe(value);
    });
  }

  for (const raw of VECTORS.invalid_values) {
    it(`invalid ${JSON.stringify(raw)}`, () => {
      let caught: unknown;
      try {
        parseAcceptMaxResponseBytes(raw);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ResponseBudgetHeaderError);
      const e = caught as ResponseBudgetHeaderError;
      expect(e.errorType).toBe('ValueError');
      expect(e.status).toBe(400);
      expect(e.message.startsWith(`Invalid ${VECTORS.request_header}: `)).toBe(true);
    });
  }

  for (const [i, v] of VECTORS.precedence.entries()) {
    it(`precedence case ${i}`, () => {
      const budget = effectiveResponseBudget({
        ...(v.application === null ? {} : { application: v.application }),
        ...(v.hosting === null ? {} : { hosting: v.hosting }),
        ...(v.client === null ? {} : { client: v.client }),
        ...(v.preferred === null ? {} : { preferred: v.preferred }),
      });
      expect(budget.limitBytes).toBe(opt(v.effective));
      expect(budget.preferredBytes).toBe(opt(v.effective_preferred));
    });
  }
});

describe('response budget rules', () => {
  it('more invalid spellings: whitespace, exponent, hex, huge digit strings', () => {
    for (const raw of [' 65536', '65536 ', '6.5536e4', '0x10000', '1e9', '99999999999999999999999', '６５５３６']) {
      expect(() => parseAcceptMaxResponseBytes(raw), raw).toThrow(ResponseBudgetHeaderError);
    }
  });

  it('an absent header is no limit; the engine map is read by lower-case name', () => {
    expect(parseAcceptMaxResponseBytes(undefined)).toBeUndefined();
    expect(acceptMaxResponseBytesOf(new Map())).toBeUndefined();
    expect(acceptMaxResponseBytesOf(new Map([['vgi-accept-max-response-bytes', '268435456']]))).toBe(268435456);
    expect(() => acceptMaxResponseBytesOf(new Map([['vgi-accept-max-response-bytes', '65536, 65536']]))).toThrow(ResponseBudgetHeaderError);
  });

  it('any single limit, or a preferred size alone, stands', () => {
    expect(effectiveResponseBudget({ hosting: 70000 })).toEqual({ limitBytes: 70000 });
    expect(effectiveResponseBudget({ client: 65536, preferred: 1 << 20 })).toEqual({ limitBytes: 65536, preferredBytes: 65536 });
    expect(effectiveResponseBudget({ preferred: 80000 })).toEqual({ preferredBytes: 80000 });
  });

  it('request caps combine by the same minimum rule', () => {
    expect(effectiveRequestLimit(4096, 8192)).toBe(4096);
    expect(effectiveRequestLimit(undefined, 8192)).toBe(8192);
    expect(effectiveRequestLimit(undefined, undefined)).toBeUndefined();
  });

  it('a continuation may tighten the sealed budget, never raise it', () => {
    const sealed = { limitBytes: 100000, preferredBytes: 90000 };
    expect(continuationBudget(sealed, { limitBytes: 70000 })).toEqual({ limitBytes: 70000, preferredBytes: 70000 });
    expect(continuationBudget(sealed, { limitBytes: 200000 })).toEqual(sealed);
    expect(continuationBudget(sealed, {})).toEqual(sealed);
    expect(continuationBudget({}, { limitBytes: 70000 })).toEqual({ limitBytes: 70000 });
    expect(continuationBudget({}, {})).toEqual({});
  });
});
