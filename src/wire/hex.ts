/** Lowercase hex of `bytes` (no Node Buffer: the browser client shares this). */
export const hexOf = (bytes: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return s;
};
