/**
 * Closing a listening socket without resetting anyone. When the last
 * descriptor of a listening socket closes, the kernel resets every
 * connection it has queued on it that nobody accepted yet, and those clients
 * saw connect() succeed (and may have sent their requests): they get
 * ECONNRESET, which looks like a crash. So a listener that stops keeps
 * accepting (the accepted connections are served, or drained) until no
 * connection has arrived for QUIET_MS, at most MAX_MS, and closes right after
 * one more poll of the event loop. Only a connection that arrives in the
 * microseconds between that poll and the close can still be reset; on unix,
 * none can, because the socket file is removed first.
 */

/** No arrival for this long: the clients that were connecting are all in. */
const QUIET_MS = 25;
/** A client that keeps connecting cannot hold a listener open longer than this. */
const MAX_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves in the check phase after the event loop's next poll phase, once
 * what the kernel already holds (queued connections, received bytes) has
 * been taken in.
 */
export const afterNextPoll = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

/**
 * Call `close` once the listener whose accepted connections `arrivals`
 * counts has been quiet for QUIET_MS (or after MAX_MS), right after a poll.
 * The listener must be accepting meanwhile.
 */
export const closeWhenQuiet = async (close: () => void, arrivals: () => number): Promise<void> => {
  const deadline = Date.now() + MAX_MS;
  let seen = arrivals();
  for (;;) {
    await sleep(QUIET_MS);
    const now = arrivals();
    if (now === seen || Date.now() >= deadline) break;
    seen = now;
  }
  await afterNextPoll();
  close();
};
