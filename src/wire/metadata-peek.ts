/**
 * Read the custom metadata of the first record batch of a complete IPC
 * stream from its message headers alone, without decoding any body: how
 * the HTTP front end finds the token that names a stream's owner without
 * decoding the request it forwards.
 */
import { CONTINUATION } from './format.js';
import { decodeMessageHeader, type BatchMetadata } from './message-codec.js';

/** The first record batch's metadata in `bytes` (undefined when there is none, or the framing is not intact). */
export const peekBatchMetadata = (bytes: Uint8Array): BatchMetadata | undefined => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  try {
    while (at + 8 <= bytes.byteLength) {
      let len = dv.getUint32(at, true);
      at += 4;
      if (len === CONTINUATION) {
        len = dv.getUint32(at, true);
        at += 4;
      }
      if (len === 0 || at + len > bytes.byteLength) return undefined;
      const msg = decodeMessageHeader(bytes.subarray(at, at + len));
      if (msg.type === 'recordBatch') return msg.metadata;
      at += len + msg.bodyLength;
    }
  } catch {
    return undefined;
  }
  return undefined;
};
