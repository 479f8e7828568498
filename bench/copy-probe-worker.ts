/**
 * The Bench worker-thread module with a copy probe, for bench/copies.ts.
 * Before the service loads, it wraps %TypedArray%.prototype.set and .slice
 * in this worker's isolate (every copy the wire code, the value types and
 * the runtime make goes through one of them: frame reassembly, column
 * encoding, gathering a response into one buffer) and counts the bytes they
 * copy. Node's own internals use their own captured copies of these methods
 * and are not counted. The count is read over a BroadcastChannel.
 */
import { BroadcastChannel } from 'node:worker_threads';

/** Name of the channel the probe answers on (bench/copies.ts asks on it). */
const PROBE_CHANNEL = 'vgi-rpc-bench-copy-probe';

interface Copying {
  set(this: Uint8Array, source: ArrayLike<number>, offset?: number): void;
  slice(this: Uint8Array, start?: number, end?: number): Uint8Array;
}
const proto = Object.getPrototypeOf(Uint8Array.prototype) as Copying;
const { set, slice } = proto;
let copied = 0;
proto.set = function (source, offset) {
  copied += ArrayBuffer.isView(source) ? source.byteLength : source.length * this.BYTES_PER_ELEMENT;
  set.call(this, source, offset);
};
proto.slice = function (start, end) {
  const out = slice.call(this, start, end);
  copied += out.byteLength;
  return out;
};

const channel = new BroadcastChannel(PROBE_CHANNEL);
channel.onmessage = (m) => {
  if ((m as { data: unknown }).data === 'report') channel.postMessage({ copied });
};
// Never keep the worker alive for the probe.
(channel as unknown as { unref(): void }).unref();

const { default: entry } = await import('../examples/bench/worker-thread.js');
export default entry;
