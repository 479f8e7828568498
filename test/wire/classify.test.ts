import { describe, expect, it } from 'vitest';
import { classifyBatch } from '../../src/wire/classify.js';
import { Keys } from '../../src/wire/metadata-keys.js';

const md = (o: Record<string, string>) => new Map(Object.entries(o));

describe('batch classification (reference order)', () => {
  it('rows or no metadata are data', () => {
    expect(classifyBatch(3, md({ [Keys.logLevel]: 'INFO', [Keys.logMessage]: 'x' }))).toBe('data');
    expect(classifyBatch(0, undefined)).toBe('data');
    expect(classifyBatch(0, md({}))).toBe('data');
  });
  it('zero rows with level and message are logs, EXCEPTION is an error', () => {
    expect(classifyBatch(0, md({ [Keys.logLevel]: 'DEBUG', [Keys.logMessage]: 'x' }))).toBe('log');
    expect(classifyBatch(0, md({ [Keys.logLevel]: 'EXCEPTION', [Keys.logMessage]: 'x' }))).toBe('error');
    expect(classifyBatch(0, md({ [Keys.logLevel]: 'INFO' }))).toBe('data');
  });
  it('log keys win over pointer keys; then external, shm, token', () => {
    expect(classifyBatch(0, md({ [Keys.logLevel]: 'INFO', [Keys.logMessage]: 'x', [Keys.location]: 'https://x' }))).toBe('log');
    expect(classifyBatch(0, md({ [Keys.location]: 'https://x', [Keys.shmOffset]: '1' }))).toBe('externalPointer');
    expect(classifyBatch(0, md({ [Keys.shmOffset]: '65536', [Keys.streamState]: 'abc' }))).toBe('shmPointer');
    expect(classifyBatch(0, md({ [Keys.streamState]: 'abc' }))).toBe('token');
    // log_level alone (no message) is not a log, and still keeps shm_offset from making it a pointer.
    expect(classifyBatch(0, md({ [Keys.logLevel]: 'INFO', [Keys.shmOffset]: '65536' }))).toBe('data');
    expect(classifyBatch(0, md({ 'app.key': 'v' }))).toBe('data');
  });
});
