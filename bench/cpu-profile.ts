/**
 * Where a server's CPU goes, from V8 CPU profiles (`node --cpu-prof`, one
 * .cpuprofile per thread): self time summed by source file of this project
 * (dist/x.js is reported as x.ts), by npm package, by Node internal module,
 * and by stage of an HTTP call (engine, front end, hop to the worker,
 * routing, decode, dispatch, handler, encode, compress, tokens, GC).
 *
 * Self time of a native function (no script URL: a builtin, a
 * FunctionTemplate callback) is charged to the nearest caller that has one,
 * so `Uint8Array.prototype.set` called from the batch encoder counts as the
 * encoder's. Idle time (`(idle)`) and `(program)` (V8 and libuv work outside
 * JS, including uWS's C++ when no JS frame is on the stack) are reported
 * apart. A sample's duration is the time to the next sample.
 *
 * Standalone: node dist/bench/cpu-profile.js FILE_OR_DIR... [--per-call N] [--top K]
 *   (--per-call N divides by the number of calls the profile covers, giving
 *   µs per call).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a .cpuprofile this reads. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
    readonly children?: readonly number[];
  }>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One thread's profile summarised. */
export interface ThreadProfile {
  /** The file's name (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`; thread 0 is the main thread). */
  readonly file: string;
  readonly thread: number;
  /** Wall time the profile covers, µs. */
  readonly wallUs: number;
  /** Self µs by place (source file, `pkg:name`, `node:module`, or `(gc)` etc.). */
  readonly byPlace: ReadonlyMap<string, number>;
}

const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/** A script URL as a short place name: our files as their .ts source path, packages by name, Node's modules as `node:x`. */
export const placeOf = (url: string): string => {
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return `pkg:${pkg[1]}`;
  const ours = /\/dist\/(.+)\.js$/.exec(url);
  if (ours !== null) return `${ours[1]}.ts`;
  const mjs = /\/(bench|test)\/(.+\.mjs)$/.exec(url);
  if (mjs !== null) return `${mjs[1]}/${mjs[2]}`;
  return url === '' ? '(native)' : url;
};

/** A span of CLOCK_MONOTONIC time in µs (what process.hrtime gives and V8 stamps profiles with, on Linux). */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Read one .cpuprofile and sum self time by place, counting only samples inside `window` when given. */
export const readProfile = (path: string, window?: ProfileWindow): ThreadProfile => {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The place each node's self time is charged to (natives go to their nearest caller with a script).
  const placeCache = new Map<number, string>();
  const place = (id: number): string => {
    const cached = placeCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const { functionName, url } = node.callFrame;
    let result: string;
    if (SPECIAL.has(functionName)) result = functionName === '(garbage collector)' ? '(gc)' : functionName;
    else if (url !== '') result = placeOf(url);
    else {
      const up = parent.get(id);
      result = up === undefined ? '(native)' : place(up);
      if (result === '(root)') result = `(native) ${functionName}`;
    }
    placeCache.set(id, result);
    return result;
  };
  const byPlace = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window !== undefined && (t < window.fromUs || t >= window.toUs)) continue;
    const dt = p.timeDeltas[i + 1] ?? 0;
    const k = place(p.samples[i]!);
    byPlace.set(k, (byPlace.get(k) ?? 0) + dt);
  }
  const m = /\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(basename(path));
  const wallUs = window === undefined ? p.endTime - p.startTime : Math.min(p.endTime, window.toUs) - Math.max(p.startTime, window.fromUs);
  return { file: basename(path), thread: m === null ? -1 : Number(m[1]), wallUs, byPlace };
};

/** Stages of an HTTP call, matched against place names in order (first match wins). */
const STAGES: ReadonlyArray<readonly [string, RegExp]> = [
  ['gc', /^\(gc\)$/],
  ['idle', /^\(idle\)$/],
  ['V8/libuv outside JS (program)', /^\(program\)$/],
  ['engine (uWS / node:http, framing)', /^(pkg:uWebSockets\.js|transports\/http\/(uws-engine|node-engine|listen-http|reply-framing|request-body|engine-request)\.ts|node:(_http_|http|net|stream|streams\/|dns|timers|async_hooks))/],
  ['front end (front-end.ts, src/http headers, random ids)', /^(transports\/http\/(front-end|serve-http)\.ts|src\/http\/(request-id|capability-headers|routes|response-budget|cors-headers|encoding-negotiation|pages|page-model)\.ts|node:crypto\/random)/],
  ['hop to the worker (forwarder, piscina, messaging, abort)', /^(transports\/http\/(worker-forwarder|http-worker)\.ts|pkg:piscina|runtime\/(worker-pool|worker-entry|channel)\.ts|node:(worker|per_context\/messageport|event_target|abort_controller|structured_clone))/],
  ['compress / decompress', /^(transports\/http\/body-codecs\.ts|pkg:zstd-napi|pkg:fzstd|node:zlib)/],
  ['tokens (seal/open)', /^(src\/http\/(state-tokens|base64)\.ts|pkg:@noble\/)/],
  ['HTTP app (routing, checks, call-state cache)', /^transports\/http\/(http-app|call-state-cache|http-config)\.ts/],
  ['decode (IPC read, values)', /^(src\/wire\/(stream-reader|flatbuffer-read|frame-source|classify|metadata-peek|body-layout|format|stray-text)\.ts|src\/types\/from-arrow\.ts|src\/protocol\/input-coercion\.ts)/],
  ['encode (IPC write)', /^src\/wire\/(batch-encoder|message-codec|dictionary-ids)\.ts/],
  ['flatbuffers (IPC message headers, both ways)', /^pkg:flatbuffers/],
  ['handler (examples/bench)', /^examples\//],
  ['dispatch (protocol, actors, Effect runtime)', /^(src\/(protocol|service|types)\/|actors\/|runtime\/|pkg:effect)/],
  ['apache-arrow', /^pkg:apache-arrow/],
  ['peer (@query-farm)', /^(pkg:@query-farm|bench\/|test\/)/],
];

/** The stage a place belongs to (`other` when none matches). */
export const stageOf = (place: string): string => STAGES.find(([, re]) => re.test(place))?.[0] ?? 'other';

/** Every .cpuprofile under the given files or directories. */
export const profileFiles = (paths: readonly string[]): string[] =>
  paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(p, f)) : [p]));

const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A printable summary of several threads' profiles: per thread by stage and top places; `calls` turns µs into µs per call. */
export const summarise = (threads: readonly ThreadProfile[], calls?: number, top = 12): string => {
  const unit = calls === undefined ? 'ms' : 'µs/call';
  const scale = (us: number): number => (calls === undefined ? us / 1000 : us / calls);
  const lines: string[] = [];
  const total = new Map<string, number>();
  const busyOf = (m: ReadonlyMap<string, number>): number => [...m].reduce((a, [k, v]) => (k === '(idle)' ? a : a + v), 0);
  for (const t of threads) {
    const stages = new Map<string, number>();
    for (const [k, v] of t.byPlace) {
      stages.set(stageOf(k), (stages.get(stageOf(k)) ?? 0) + v);
      total.set(k, (total.get(k) ?? 0) + v);
    }
    const busy = busyOf(t.byPlace);
    lines.push(`${t.thread === 0 ? 'main thread' : `worker thread ${t.thread}`} (${t.file}): busy ${fmt(scale(busy))} ${unit} (${fmt((busy / t.wallUs) * 100, 0)}% of the ${fmt(t.wallUs / 1000, 0)} ms profiled)`);
    for (const [stage, us] of [...stages].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1])) {
      lines.push(`  ${stage.padEnd(52)} ${fmt(scale(us)).padStart(9)} ${unit}  ${fmt((us / busy) * 100).padStart(5)}%`);
    }
    lines.push('  top places:');
    for (const [k, us] of [...t.byPlace].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
      lines.push(`    ${k.padEnd(58)} ${fmt(scale(us)).padStart(9)} ${unit}  ${fmt((us / busy) * 100).padStart(5)}%`);
    }
  }
  if (threads.length > 1) {
    const stages = new Map<string, number>();
    for (const [k, v] of total) stages.set(stageOf(k), (stages.get(stageOf(k)) ?? 0) + v);
    const busy = busyOf(total);
    lines.push(`all threads: busy ${fmt(scale(busy))} ${unit}`);
    for (const [stage, us] of [...stages].filter(([s]) => s !== 'idle').sort((a, b) => b[1] - a[1])) {
      lines.push(`  ${stage.padEnd(52)} ${fmt(scale(us)).padStart(9)} ${unit}  ${fmt((us / busy) * 100).padStart(5)}%`);
    }
  }
  return lines.join('\n');
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const calls = opt('--per-call');
  const top = opt('--top');
  if (args.length === 0) {
    process.stderr.write('usage: cpu-profile.js FILE_OR_DIR... [--per-call N] [--top K]\n');
    process.exit(64);
  }
  const threads = profileFiles(args).map((f) => readProfile(f));
  process.stdout.write(`${summarise(threads, calls === undefined ? undefined : Number(calls), top === undefined ? 12 : Number(top))}\n`);
}
