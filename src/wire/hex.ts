/** The two hex digits of every byte value. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

/**
 * Lowercase hex of `bytes` (no Node Buffer: the browser client shares this).
 * The result is one flat string: `join` writes it in one piece, where
 * appending digit by digit leaves a rope of V8 cons strings (about 360 heap bytes
 * for a 12-byte id against 40), and these strings key tables of 100,000 sessions.
 */
export const hexOf = (bytes: Uint8Array): string => {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = BYTE_HEX[bytes[i]!]!;
  return parts.join('');
};
