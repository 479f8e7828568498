/**
 * The client side of one sticky-session scope: every request in the scope
 * opts in (`VGI-Session-Accept: true`) and presents the session's token
 * once the server minted one, plus the `VGI-Echo-*` headers the opening
 * response asked to be sent back (a proxy may route on them); the token is
 * captured from responses and dropped on `VGI-Session-Close: true`.
 */

/** Sticky-session header names. */
export const SessionHeader = {
  session: 'VGI-Session',
  accept: 'VGI-Session-Accept',
  close: 'VGI-Session-Close',
  echoPrefix: 'vgi-echo-',
} as const;

/** The session state of one scope. */
export class SessionTrack {
  private tokenValue: string | null;
  private readonly echo = new Map<string, string>();
  /** True once the session was closed by the server or detached: leaving the scope sends nothing. */
  private settled = false;

  constructor(token: string | null) {
    this.tokenValue = token;
  }

  /** The token in flight, or null. */
  get token(): string | null {
    return this.tokenValue;
  }

  /** The echo headers captured from the opening response (name -> value). */
  get echoHeaders(): ReadonlyMap<string, string> {
    return this.echo;
  }

  /** Whether leaving the scope should close the session on the server. */
  get needsClose(): boolean {
    return !this.settled && this.tokenValue !== null;
  }

  /** `headers` plus the scope's session headers (the caller's own headers are never overridden by echo values). */
  apply(headers: Record<string, string>): void {
    headers[SessionHeader.accept] = 'true';
    if (this.tokenValue !== null) headers[SessionHeader.session] = this.tokenValue;
    const lower = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    for (const [name, value] of this.echo) if (!lower.has(name)) headers[name] = value;
  }

  /** Take the session changes a response announces. */
  capture(headers: Headers): void {
    const token = headers.get(SessionHeader.session);
    if (token !== null && token.trim() !== '') {
      this.tokenValue = token.trim();
      this.settled = false;
    }
    headers.forEach((value, name) => {
      const lower = name.toLowerCase();
      if (lower.startsWith(SessionHeader.echoPrefix) && lower.length > SessionHeader.echoPrefix.length) this.echo.set(lower.slice(SessionHeader.echoPrefix.length), value);
    });
    if ((headers.get(SessionHeader.close) ?? '').trim().toLowerCase() === 'true') this.clear();
  }

  /** Hand the token over: the scope forgets it and will not close the session. */
  detach(): string | null {
    const token = this.tokenValue;
    this.clear();
    return token;
  }

  private clear(): void {
    this.tokenValue = null;
    this.echo.clear();
    this.settled = true;
  }
}
