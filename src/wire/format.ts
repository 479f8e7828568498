/**
 * Constants of the Arrow IPC encapsulated-message format that the wire layer
 * reads and writes by hand (see the Arrow columnar format specification).
 */

/** The 0xFFFFFFFF continuation marker that starts every encapsulated message. */
export const CONTINUATION = 0xffffffff;

/** The 8-byte end-of-stream marker: continuation followed by a zero length. */
export const EOS_BYTES: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/** Arrow `MetadataVersion.V5`, the only version we write. */
export const METADATA_V5 = 4;

/** Values of the flatbuffer `MessageHeader` union. */
export const MessageHeaderType = {
  None: 0,
  Schema: 1,
  DictionaryBatch: 2,
  RecordBatch: 3,
  Tensor: 4,
  SparseTensor: 5,
} as const;

/** Round `n` up to the next multiple of 8, the alignment of every IPC buffer. */
export const align8 = (n: number): number => (n + 7) & ~7;
