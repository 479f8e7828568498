/**
 * Recognising text where an Arrow IPC message should start: a process that
 * prints to the stream carrying its Arrow bytes (a stdio server writing a
 * log line to stdout) makes the reader take the first characters for a
 * length prefix ("time" reads as 1.7 GB). Error paths name the text, so
 * the cause is plain. Only called once a read has already failed.
 */

/** Printable ASCII, tab, LF, CR. */
const isTextByte = (b: number): boolean => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;

/** Leading text bytes needed to call it text: a whole length prefix. */
const MIN_TEXT_BYTES = 4;

/** Characters of the text quoted in an error message. */
const MAX_EXCERPT = 40;

/**
 * The text at the start of `count` bytes read through `byteAt`, when at
 * least the first four are text (up to 40 characters, cut at the first byte
 * that is not text); undefined otherwise.
 */
export const strayText = (byteAt: (i: number) => number, count: number): string | undefined => {
  let n = 0;
  const limit = Math.min(count, MAX_EXCERPT);
  while (n < limit && isTextByte(byteAt(n))) n++;
  if (n < MIN_TEXT_BYTES) return undefined;
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(byteAt(i));
  return s;
};

/** `strayText` of a byte array. */
export const strayTextOf = (bytes: Uint8Array): string | undefined => strayText((i) => bytes[i]!, bytes.byteLength);

/** The note a wire error's message ends with when its bytes were text. */
export const strayTextNote = (text: string): string => ` (these bytes are text, not Arrow IPC: ${JSON.stringify(text)}${text.length >= MAX_EXCERPT ? '...' : ''})`;
