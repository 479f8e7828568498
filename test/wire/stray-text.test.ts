/**
 * Text where Arrow IPC should be (a stdio server printing to stdout): the
 * reader's error quotes the text, and the client's error names the cause.
 */
import { describe, expect, it } from 'vitest';
import { Client, IpcFormatError, IpcLimitError, Method, RpcClientError, RpcConnection, Service, T } from '../../src/index.js';
import { StreamReader } from '../../src/wire/stream-reader.js';
import { FrameSource } from '../../src/wire/frame-source.js';
import { concatBytes } from '../../src/wire/batch-encoder.js';

const LOG_LINE = 'time=2026-12-04T18:53:10.875Z level=INFO fiber=#3 message="hello"\n';
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The error the reader throws on `bytes`. */
const readError = (bytes: Uint8Array): Error => {
  const r = new StreamReader();
  r.push(bytes);
  try {
    r.read();
  } catch (e) {
    return e as Error;
  }
  throw new Error('the reader accepted the bytes');
};

describe('text read as Arrow IPC', () => {
  it('quotes the text a length prefix was read from', () => {
    const e = readError(ascii(LOG_LINE));
    expect(e).toBeInstanceOf(IpcLimitError);
    // "time" as a little-endian u32 is the 1.7 GB header the bug report saw.
    expect(e.message).toContain('IPC message header of 1701669236 bytes exceeds');
    expect((e as IpcLimitError).strayText).toBe(LOG_LINE.slice(0, 40));
    expect(e.message).toContain('these bytes are text, not Arrow IPC: "time=2026-12-04T18:53:10.875Z level=INFO"...');
  });

  it('reads the text after a continuation marker, and stops the quote at the first byte that is not text', () => {
    const e = readError(concatBytes([new Uint8Array([0xff, 0xff, 0xff, 0xff]), ascii('hello\n'), new Uint8Array([0, 1, 2])]));
    expect(e).toBeInstanceOf(IpcLimitError);
    expect((e as IpcLimitError).strayText).toBe('hello\n');
    expect(e.message).toContain('"hello\\n"');
  });

  it('says nothing about text when the bytes are not text', () => {
    const e = readError(new Uint8Array([0x01, 0x02, 0x03, 0x7f, 0x41, 0x42]));
    expect(e).toBeInstanceOf(IpcLimitError);
    expect((e as IpcLimitError).strayText).toBeUndefined();
    expect(e.message).not.toContain('text');
  });

  it('quotes a message header that is text', () => {
    const header = ascii('oops, not a flatbuffer');
    const prefix = new Uint8Array([0xff, 0xff, 0xff, 0xff, header.byteLength, 0, 0, 0]);
    const e = readError(concatBytes([prefix, header]));
    expect(e).toBeInstanceOf(IpcFormatError);
    expect((e as IpcFormatError).strayText).toBe('oops, not a flatbuffer');
  });

  const Echo = Service.define('Echo', {}, { echo: Method.unary({ params: { s: T.utf8 }, result: T.utf8 }) });

  /** A call whose response bytes are `response`: the client's error. */
  const callError = async (response: Uint8Array): Promise<RpcClientError> => {
    const frames = new FrameSource();
    const conn = new RpcConnection({ frames, write: () => undefined, close: () => undefined });
    const call = Client.promises(Echo, conn).echo({ s: 'x' });
    frames.push(response);
    const e = await call.then(() => { throw new Error('the call succeeded'); }, (x: unknown) => x);
    expect(e).toBeInstanceOf(RpcClientError);
    return e as RpcClientError;
  };

  it('tells the client the server wrote text to its stdout', async () => {
    const e = await callError(ascii(LOG_LINE));
    expect(e.errorType).toBe('TransportError');
    expect(e.message).toContain('"time=2026-12-04T18:53:10.875Z level=INFO"');
    expect(e.message).toContain('the server wrote text to its stdout; a stdio server must write only Arrow IPC there');
  });

  it('blames no text when the bad bytes are binary', async () => {
    const e = await callError(new Uint8Array([0x01, 0x02, 0x03, 0x7f, 0x41, 0x42]));
    expect(e.errorType).toBe('TransportError');
    expect(e.message).toContain('exceeds');
    expect(e.message).not.toContain('stdout');
  });
});
