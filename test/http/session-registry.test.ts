/**
 * The per-worker sticky-session registry: each session's state is released
 * exactly once whichever way it ends (close, a second close, expiry seen
 * inline, the reaper, shutdown), expiry is never early, the reaper releases
 * an expired session within about a second, and a session's lock lets its
 * calls run one at a time. A resume echoing the very token this server
 * sealed finds its session without an AEAD open; anything else (another
 * principal, a tampered or foreign token, an ended session) takes the full
 * path.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { staleOutputs } from '../support/stale-build.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { SessionRegistry, type SessionEntry } from '../../transports/http/session-registry.js';
import { RequestSession, type SessionCaller, type SessionHost, resolveSession } from '../../transports/http/request-session.js';
import * as Deferred from 'effect/Deferred';
import * as Effect from 'effect/Effect';
import * as Either from 'effect/Either';
import type { RpcError } from '../../src/service/errors.js';
import { type TokenCipher, TokenSealer, newSessionId } from '../../src/http/state-tokens.js';

const id = (n: number): Uint8Array => Uint8Array.from({ length: 12 }, (_, i) => (i === 0 ? n : 0));

/** State whose `close()` counts its calls. */
class Counted {
  closes = 0;
  close(): void {
    this.closes++;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `body` as an ES module in a fresh node process (`flags` before it) with the built `SessionRegistry` in scope. */
const runWithRegistry = (body: string, flags: readonly string[], timeout: number): SpawnSyncReturns<string> => {
  const stale = staleOutputs('transports/http/session-registry.ts');
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: build first with \`npx tsc -p .\``);
  const script = `const { SessionRegistry } = await import(${JSON.stringify(new URL('../../dist/transports/http/session-registry.js', import.meta.url).href)});\n${body}`;
  return spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout });
};

describe('SessionRegistry', () => {
  it('releases a closed session once, however often it is closed, and forgets it', async () => {
    const released: SessionEntry[] = [];
    const reg = new SessionRegistry({ onRelease: (e) => released.push(e) });
    const state = new Counted();
    const entry = reg.open(id(1), state, '', 60);
    const at = Math.ceil(entry.expiresAt / 1000);
    expect(reg.get(id(1), at)?.state).toBe(state);
    // The expiry the token carries picks the bucket: another second finds nothing.
    expect(reg.get(id(1), at + 1)).toBeUndefined();
    await Promise.all([reg.remove(entry), reg.remove(entry)]);
    await reg.remove(entry);
    await reg.closeAll();
    expect(state.closes).toBe(1);
    expect(released).toEqual([entry]);
    expect(reg.get(id(1), at)).toBeUndefined();
    expect(reg.size).toBe(0);
  });

  it('an expired session is refused inline and released once; never before its expiry', async () => {
    let now = 1_000_000;
    const reg = new SessionRegistry({ now: () => now });
    const state = new Counted();
    const at = Math.ceil(reg.open(id(2), state, 'alice', 5).expiresAt / 1000);
    now += 4_999;
    expect(reg.get(id(2), at)?.state, 'a session is served until its expiry').toBe(state);
    now += 1;
    expect(reg.get(id(2), at)).toBeUndefined();
    expect(reg.get(id(2), at)).toBeUndefined();
    await sleep(10);
    await reg.reap();
    expect(state.closes).toBe(1);
  });

  it('the reaper releases an expired idle session within about a second of its expiry', async () => {
    const reg = new SessionRegistry();
    const state = new Counted();
    reg.open(id(3), state, '', 0.2);
    const t0 = Date.now();
    while (state.closes === 0 && Date.now() - t0 < 5_000) await sleep(20);
    expect(state.closes).toBe(1);
    // 0.2 s TTL + one 1 s reaper tick, with a generous margin for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(reg.size).toBe(0);
  });

  it('the reaper fiber ends once the registry is empty, and the next open starts another', async () => {
    const reg = new SessionRegistry();
    for (const n of [31, 32]) {
      const state = new Counted();
      reg.open(id(n), state, '', 0.2);
      const t0 = Date.now();
      while (state.closes === 0 && Date.now() - t0 < 5_000) await sleep(20);
      expect(state.closes, `session ${n} released by the reaper`).toBe(1);
      expect(reg.size).toBe(0);
      // Give the reaper its next tick, in which it sees the empty registry and ends.
      await sleep(1_100);
    }
  });

  it('the reaper holds no thread open: a process whose registry holds a session exits when nothing else runs', () => {
    const t0 = Date.now();
    const r = runWithRegistry(`
      const reg = new SessionRegistry();
      reg.open(new Uint8Array(12), { close() {} }, '', 3600);
      console.log(reg.size);`, [], 20_000);
    expect(r.signal, 'the process had to be killed: something held it open').toBeNull();
    expect([r.status, r.stdout.trim()]).toEqual([0, '1']);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('the reaper leaves a session whose call is running; lookups already refuse it', async () => {
    let now = 0;
    const reg = new SessionRegistry({ now: () => now });
    const state = new Counted();
    const entry = reg.open(id(4), state, '', 1);
    const unlock = await entry.lock();
    now = 2_000;
    expect(await reg.reap()).toBe(0);
    expect(state.closes).toBe(0);
    unlock();
    expect(await reg.reap()).toBe(1);
    expect(state.closes).toBe(1);
  });

  it("a session's lock runs its calls one at a time, in arrival order, and a failed call releases it", async () => {
    const reg = new SessionRegistry();
    const entry = reg.open(id(5), {}, '', 60);
    const order: string[] = [];
    const call = async (name: string, ms: number, fail = false): Promise<void> => {
      const unlock = await entry.lock();
      try {
        order.push(`${name} start`);
        await sleep(ms);
        if (fail) throw new Error(name);
        order.push(`${name} end`);
      } finally {
        unlock();
      }
    };
    await Promise.allSettled([call('a', 30, true), call('b', 10), call('c', 0)]);
    expect(order).toEqual(['a start', 'b start', 'b end', 'c start', 'c end']);
    expect(entry.busy).toBe(false);
  });

  it('shutdown releases every session once; draining is a flag new opens consult', async () => {
    const reg = new SessionRegistry();
    const states = [new Counted(), new Counted(), new Counted()];
    states.forEach((s, i) => reg.open(id(10 + i), s, '', 60));
    expect(reg.draining).toBe(false);
    reg.setDraining(true);
    expect(reg.draining).toBe(true);
    await reg.closeAll();
    await reg.closeAll();
    expect(states.map((s) => s.closes)).toEqual([1, 1, 1]);
    expect(reg.size).toBe(0);
  });

  it('a state without close() is simply forgotten', async () => {
    const reg = new SessionRegistry();
    const entry = reg.open(id(20), { value: 1 }, '', 60);
    await reg.remove(entry);
    expect(entry.isReleased).toBe(true);
    expect(reg.get(id(20), Math.ceil(entry.expiresAt / 1000))).toBeUndefined();
  });

  it('reaping a mass expiry lets the event loop go between slices and releases every session once', async () => {
    let now = 0;
    const reg = new SessionRegistry({ now: () => now });
    const states = Array.from({ length: 50_000 }, () => new Counted());
    states.forEach((s, i) => reg.open(Uint8Array.from({ length: 12 }, (_, b) => (i >> (8 * b)) & 0xff), s, '', 1));
    now = 5_000;
    let ranDuring = false;
    const reaped = reg.reap();
    setImmediate(() => {
      ranDuring = reg.size > 0;
    });
    expect(await reaped).toBe(50_000);
    expect(ranDuring, 'the event loop was held for the whole reap').toBe(true);
    expect(states.every((s) => s.closes === 1)).toBe(true);
    expect(reg.size).toBe(0);
  });

  it("a state whose close() throws is still released once; the failure does not reach the caller", async () => {
    const released: SessionEntry[] = [];
    const reg = new SessionRegistry({ onRelease: (e) => released.push(e) });
    let calls = 0;
    const entry = reg.open(id(30), { close: () => { calls++; throw new Error('boom'); } }, '', 60);
    await expect(reg.remove(entry)).resolves.toBeUndefined();
    await reg.remove(entry);
    expect([calls, released.length, entry.isReleased]).toEqual([1, 1, true]);
  });

  it('a reap visits only the sessions of the seconds that have begun, and reaps a partly expired second on time', async () => {
    let now = 10_000_250; // a quarter into a second
    const reg = new SessionRegistry({ now: () => now });
    let reads = 0;
    const watched: SessionEntry[] = [];
    for (let i = 0; i < 100; i++) {
      const e = reg.open(id(100 + i), new Counted(), '', 3_600);
      const at = e.expiresAt;
      Object.defineProperty(e, 'expiresAt', { get: () => (reads++, at) });
      watched.push(e);
    }
    const soon = new Counted();
    const later = new Counted();
    reg.open(id(1), soon, '', 0.5); // expires at ...750, in the second ending at ...1000
    reg.open(id(2), later, '', 0.7); // expires at ...950, the same second
    now += 600; // ...850: that second has begun; one of its two sessions has expired
    expect(await reg.reap()).toBe(1);
    expect([soon.closes, later.closes]).toEqual([1, 0]);
    now += 200; // ...1050
    expect(await reg.reap()).toBe(1);
    expect(later.closes).toBe(1);
    expect(reads, 'sessions not due were visited').toBe(0);
    // Closed sessions leave the index: nothing is released twice when their second comes.
    await reg.remove(watched[0]!);
    now += 3_600_000;
    expect(await reg.reap()).toBe(99);
    expect(reg.size).toBe(0);
    expect((watched[0]!.state as Counted).closes).toBe(1);
  });

  it('reaping a mass expiry drops whole buckets: it allocates little in the old generation (a shrinking table would allocate megabytes)', () => {
    const r = runWithRegistry(`
      const v8 = await import('node:v8');
      let now = 1_000_000_000_000;
      const reg = new SessionRegistry({ now: () => now });
      for (let i = 0; i < 50000; i++) { const id = new Uint8Array(12); id[0] = i & 0xff; id[1] = (i >> 8) & 0xff; id[2] = i >> 16; reg.open(id, { close() {} }, '', 10); }
      gc(); gc();
      const old = () => v8.getHeapSpaceStatistics().filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space').reduce((a, s) => a + s.space_used_size, 0);
      const before = old();
      now += 20_000;
      const released = await reg.reap();
      console.log(JSON.stringify({ released, size: reg.size, oldGrowth: old() - before }));`, ['--expose-gc'], 60_000);
    expect(r.status, r.stderr).toBe(0);
    const { released, size, oldGrowth } = JSON.parse(r.stdout) as { released: number; size: number; oldGrowth: number };
    expect([released, size]).toEqual([50_000, 0]);
    // Deleting the 50,000 one by one from one id table and one expiry set shrank them step by step:
    // 3.3 MB of new tables in the old generation. Dropping the bucket allocates next to nothing there.
    expect(oldGrowth).toBeLessThan(1_000_000);
  });

  it('tryLock takes a free lock at once; a call arriving meanwhile waits for it, and tryLock refuses a held lock', async () => {
    const reg = new SessionRegistry();
    const entry = reg.open(id(40), {}, '', 60);
    const first = entry.tryLock();
    expect(first).toBeDefined();
    expect(entry.tryLock()).toBeUndefined();
    const order: string[] = [];
    const second = entry.lock().then((unlock) => {
      order.push('second');
      return unlock;
    });
    await sleep(20);
    expect(order, 'a waiter ran while tryLock held the lock').toEqual([]);
    order.push('first done');
    first!();
    const unlockSecond = await second;
    expect(order).toEqual(['first done', 'second']);
    expect(entry.tryLock()).toBeUndefined();
    unlockSecond();
    expect(entry.busy).toBe(false);
    const again = entry.tryLock();
    expect(again).toBeDefined();
    again!();
    expect(entry.busy).toBe(false);
  });
});

describe('session tokens this server sealed', () => {
  /** A sealer whose cipher counts its opens, and a host around a fresh registry. */
  const hostOf = (): { host: SessionHost; opens: () => number } => {
    let opens = 0;
    const cipher: TokenCipher = {
      seal: (key, nonce, aad, plain) => xchacha20poly1305(key, nonce, aad).encrypt(plain),
      open: (key, nonce, aad, sealed) => {
        opens++;
        return xchacha20poly1305(key, nonce, aad).decrypt(sealed);
      },
    };
    const tokens = new TokenSealer({ key: new Uint8Array(32).fill(7), cipher });
    return { host: { registry: new SessionRegistry(), tokens, serverId: 'srv', sticky: { defaultTtlSeconds: 60, echoHeaders: [] } }, opens: () => opens };
  };
  const alice: SessionCaller = { identity: { principal: 'alice', domain: 'd' }, principalKey: 'd\u0000alice' };
  const bob: SessionCaller = { identity: { principal: 'bob', domain: 'd' }, principalKey: 'd\u0000bob' };

  const open = (host: SessionHost, caller: SessionCaller, state: unknown): { entry: SessionEntry; token: string } => {
    const sessionId = newSessionId();
    const entry = host.registry.open(sessionId, state, caller.principalKey, 60);
    const token = host.tokens.sealSession({ serverId: host.serverId, sessionId, expiresAt: Math.ceil(entry.expiresAt / 1000) }, caller.identity);
    host.registry.bindToken(entry, token);
    return { entry, token };
  };

  it('a resume echoing the sealed token finds its session without an AEAD open; another principal is refused by the AEAD', () => {
    const { host, opens } = hostOf();
    const { entry, token } = open(host, alice, { n: 1 });
    expect(resolveSession(host, token, alice)).toBe(entry);
    expect(resolveSession(host, token, alice)).toBe(entry);
    expect(opens(), 'the known token was opened').toBe(0);
    const refused = resolveSession(host, token, bob);
    expect(refused).toMatch(/rejected/);
    expect(opens()).toBe(1);
  });

  it('a token not sealed here, or one whose session ended, takes the full path', async () => {
    const { host, opens } = hostOf();
    const { entry, token } = open(host, alice, {});
    // Another token for the same session (another nonce): authentic, but not the string this server handed out.
    const other = host.tokens.sealSession({ serverId: 'srv', sessionId: Uint8Array.from(Buffer.from(entry.id, 'hex')), expiresAt: Math.ceil(entry.expiresAt / 1000) }, alice.identity);
    expect(resolveSession(host, other, alice)).toBe(entry);
    expect(opens()).toBe(1);
    const flipped = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${flipped}${token.slice(-1)}`;
    expect(tampered).not.toBe(token);
    expect(resolveSession(host, tampered, alice)).toMatch(/rejected/);
    await host.registry.remove(entry);
    expect(host.registry.byToken(token)).toBeUndefined();
    expect(resolveSession(host, token, alice)).toMatch(/expired, was closed/);
    expect(opens()).toBe(3);
  });

  it('an expired session is not found by its token', () => {
    let now = 5_000_000;
    const registry = new SessionRegistry({ now: () => now });
    const entry = registry.open(id(9), {}, '', 1);
    registry.bindToken(entry, 'tok');
    expect(registry.byToken('tok')).toBe(entry);
    now += 1_000;
    expect(registry.byToken('tok')).toBeUndefined();
    expect(entry.isReleased).toBe(true);
  });
});

describe('the session limit (sticky.maxSessions, each thread its share)', () => {
  const limited = (maxPerHolder: number): SessionHost => ({
    registry: new SessionRegistry(),
    tokens: new TokenSealer({ key: new Uint8Array(32).fill(9) }),
    serverId: 'srv',
    sticky: { defaultTtlSeconds: 60, echoHeaders: [], maxSessions: maxPerHolder * 2, maxPerHolder },
  });
  const anonymous: SessionCaller = { identity: {}, principalKey: '' };
  const failureOf = async (effect: Effect.Effect<unknown, unknown>): Promise<RpcError | undefined> => {
    const r = await Effect.runPromise(Effect.either(effect));
    return Either.isLeft(r) ? (r.left as RpcError) : undefined;
  };

  it('opens up to the share, then refuses with SessionLimitError (RESOURCE_EXHAUSTED, QuotaFailure); a session that ends makes room', async () => {
    const host = limited(2);
    for (let i = 0; i < 2; i++) expect(await failureOf(new RequestSession(host, anonymous, true).open(new Counted()))).toBeUndefined();
    const refused = await failureOf(new RequestSession(host, anonymous, true).open(new Counted()));
    expect([refused?.errorType, refused?.errorCode]).toEqual(['SessionLimitError', 'RESOURCE_EXHAUSTED']);
    expect(refused?.errorDetails).toEqual([{ '@type': 'vgi_rpc.QuotaFailure', violations: [{ subject: 'sticky_sessions', description: 'at most 2 sticky sessions per thread' }] }]);
    expect(refused?.message).toContain('maxSessions 4');
    expect(host.registry.size).toBe(2);
    // Closing one (any way a session ends) gives its place back.
    const s = new RequestSession(host, anonymous, true);
    await host.registry.closeAll();
    expect(await failureOf(s.open(new Counted()))).toBeUndefined();
  });

  it('a state being acquired holds its place: a second open meanwhile is refused; a failed acquisition gives the place back', async () => {
    const host = limited(1);
    const gate = await Effect.runPromise(Deferred.make<void>());
    const slow = Effect.runPromise(new RequestSession(host, anonymous, true).acquire(Effect.as(Deferred.await(gate), new Counted())));
    await sleep(10);
    expect(host.registry.size).toBe(0);
    expect((await failureOf(new RequestSession(host, anonymous, true).open(new Counted())))?.errorType).toBe('SessionLimitError');
    await Effect.runPromise(Deferred.succeed(gate, undefined));
    await slow;
    expect(host.registry.size).toBe(1);
    await host.registry.closeAll();
    // An acquisition that fails opens nothing and keeps no place.
    expect(await failureOf(new RequestSession(host, anonymous, true).acquire(Effect.fail('no model')))).toBe('no model');
    expect(await failureOf(new RequestSession(host, anonymous, true).acquire(Effect.succeed(new Counted())))).toBeUndefined();
    expect(host.registry.size).toBe(1);
  });
});
