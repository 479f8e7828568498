/**
 * The cursor tokens a TokenSealer sealed lately, so a stream's warm turn
 * costs no AEAD operation:
 *
 * - opening: a token string this sealer sealed is authentic by
 *   construction, so when the client echoes one of them for the same
 *   associated data (principal, domain, protocol), its content is known
 *   without decrypting it (its age is still checked by the caller);
 * - sealing: a cursor whose content (call id, state bytes, associated data)
 *   and second of creation equal those of the call's last sealed cursor
 *   would differ from it only in its random nonce, so that token is given
 *   again. A stream whose state did not change (every stream whose method
 *   declares none) then re-seals once a second at most.
 *
 * Bounded: the oldest entries are forgotten first, and a forgotten token
 * just takes the full AEAD path again.
 */
import type { CursorContent, Sealed } from './state-tokens.js';
import { sameBytes } from '../wire/same-bytes.js';
import { hexOf } from '../wire/hex.js';

/** One remembered cursor: what it seals, for which associated data, since when. */
interface Remembered {
  readonly token: string;
  readonly callId: Uint8Array;
  readonly state: Uint8Array;
  readonly aad: Uint8Array;
  readonly createdAt: number;
}

/** Recently sealed cursor tokens, by token and by call. */
export class CursorMemo {
  private readonly byToken = new Map<string, Remembered>();
  private readonly byCall = new Map<string, Remembered>();

  /** `capacity`: calls remembered at most (one cursor each). */
  constructor(private readonly capacity = 4096) {}

  /** The content of `token` when this memo holds it for exactly `aad`. */
  opened(token: string, aad: Uint8Array): (CursorContent & Sealed) | undefined {
    const r = this.byToken.get(token);
    if (r === undefined || !sameBytes(r.aad, aad)) return undefined;
    return { callId: r.callId, state: r.state, createdAt: r.createdAt };
  }

  /** The token last sealed for this content, associated data and second, if any. */
  sealed(content: CursorContent, aad: Uint8Array, createdAt: number): string | undefined {
    const r = this.byCall.get(hexOf(content.callId));
    if (r === undefined || r.createdAt !== createdAt || !sameBytes(r.state, content.state) || !sameBytes(r.aad, aad)) return undefined;
    return r.token;
  }

  /** Remember `token`, sealed for this content and associated data at `createdAt`: the call's latest cursor. */
  remember(token: string, content: CursorContent, aad: Uint8Array, createdAt: number): void {
    const call = hexOf(content.callId);
    const previous = this.byCall.get(call);
    if (previous !== undefined) {
      this.byToken.delete(previous.token);
      this.byCall.delete(call);
    } else if (this.byCall.size >= this.capacity) {
      const oldest = this.byCall.entries().next().value as [string, Remembered] | undefined;
      if (oldest !== undefined) {
        this.byCall.delete(oldest[0]);
        this.byToken.delete(oldest[1].token);
      }
    }
    // Copies: the caller's state buffer may be reused for the next snapshot.
    const r: Remembered = { token, callId: Uint8Array.from(content.callId), state: Uint8Array.from(content.state), aad, createdAt };
    this.byCall.set(call, r);
    this.byToken.set(token, r);
  }
}
