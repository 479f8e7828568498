/**
 * Which worker thread holds a stream or a sticky session, read off its
 * token: every worker seals its tokens with a nonce that starts with this
 * process's route tag and its own thread id (see TokenSealerOptions.routeHint),
 * so whoever receives a continuation can send it to the worker that holds
 * its live state without opening the token or remembering anything. The
 * tag (random per process) keeps another process's tokens, whose nonces are
 * random there, from naming our workers but by a 1 in 65,536 chance, which
 * costs only a hop: the named worker then resumes the call cold or answers
 * the typed error, as any worker would.
 */
import { tokenRouteHint } from '../../src/http/state-tokens.js';

/** The 4-byte hint of worker `threadId` under the process's route `tag`: tag u16 LE, thread id u16 LE (mod 65,536). */
export const routeHint = (tag: number, threadId: number): Uint8Array => {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setUint16(0, tag & 0xffff, true);
  v.setUint16(2, threadId & 0xffff, true);
  return b;
};

/** The thread id (mod 65,536) a token's hint names under `tag`, or undefined when it carries another process's (or no) hint. */
export const hintedThread = (token: string, tag: number): number | undefined => {
  const h = tokenRouteHint(token);
  if (h === undefined || (h[0]! | (h[1]! << 8)) !== (tag & 0xffff)) return undefined;
  return h[2]! | (h[3]! << 8);
};
