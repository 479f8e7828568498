/**
 * The memcpy floor for the shared-memory transport: Buffer.copy of 1 MiB blocks within a mapped
 * POSIX shared-memory segment and between the JS heap and the segment, on this machine. A
 * transport that moves bytes through shm cannot beat these rates; the lead compares shm producer
 * MB/s against them.
 *
 * Each case copies 1 MiB blocks for SHM_MEMCPY_MS (default 500 ms) per round, over
 * SHM_MEMCPY_ROUNDS (default 5) rounds after a warm-up of 256 copies, and prints the median
 * MB/s (10^6 bytes per second). "hot" copies the same 1 MiB again and again (source and
 * destination stay in cache); "stream" walks 1 MiB blocks through 64 MiB regions, so most of each
 * copy comes from and goes to DRAM, as a real transfer of large batches does.
 *
 *   node dist/bench/shm-memcpy.js
 */
import { createOwnedSegment } from '../transports/shm/owned-segments.js';
import { shmAvailable, shmUnavailableReason } from '../transports/shm/mapping.js';
import { median } from './stats.js';

const MiB = 1 << 20;
const REGION = 64 * MiB;
const roundMs = Number(process.env.SHM_MEMCPY_MS ?? 500);
const rounds = Number(process.env.SHM_MEMCPY_ROUNDS ?? 5);

/** Median MB/s of `copy(i)` (one 1 MiB copy per call, i counting up) over the rounds. */
const measure = (copy: (i: number) => void): number => {
  for (let i = 0; i < 256; i++) copy(i);
  const rates: number[] = [];
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    let n = 0;
    let elapsed = 0;
    do {
      // Check the clock every 16 copies so the timer is not part of what is measured.
      for (let k = 0; k < 16; k++) copy(i++);
      n += 16;
      elapsed = performance.now() - t0;
    } while (elapsed < roundMs);
    rates.push((n * MiB) / 1e6 / (elapsed / 1000));
  }
  return median(rates);
};

if (!shmAvailable()) {
  process.stdout.write(`shm-memcpy: skipped, ${shmUnavailableReason() ?? 'shm unavailable'}\n`);
  process.exit(0);
}

// One segment holds two regions (source and destination for the in-segment case). Touch every
// page first so page faults are not measured.
const segment = createOwnedSegment(2 * REGION);
const shm = Buffer.from(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength);
shm.fill(1);
const heapA = Buffer.alloc(REGION, 2);
const heapB = Buffer.alloc(REGION, 3);
const blocks = REGION / MiB;
const at = (i: number): number => (i % blocks) * MiB;

const cases: Array<[string, (i: number) => void]> = [
  ['heap -> heap, hot', () => heapA.copy(heapB, 0, 0, MiB)],
  ['shm -> shm (same segment), hot', () => shm.copy(shm, REGION, 0, MiB)],
  ['heap -> shm, hot', () => heapA.copy(shm, 0, 0, MiB)],
  ['shm -> heap, hot', () => shm.copy(heapA, 0, 0, MiB)],
  ['heap -> heap, stream 64 MiB', (i) => heapA.copy(heapB, at(i), at(i), at(i) + MiB)],
  ['shm -> shm (same segment), stream 64 MiB', (i) => shm.copy(shm, REGION + at(i), at(i), at(i) + MiB)],
  ['heap -> shm, stream 64 MiB', (i) => heapA.copy(shm, at(i), at(i), at(i) + MiB)],
  ['shm -> heap, stream 64 MiB', (i) => shm.copy(heapA, at(i), at(i), at(i) + MiB)],
];

process.stdout.write(
  `shm-memcpy: Buffer.copy of 1 MiB blocks, segment ${segment.name} (${(2 * REGION) / MiB} MiB, MAP_SHARED on /dev/shm), ` +
    `warm-up 256 copies, median of ${rounds} rounds x ${roundMs} ms, MB = 10^6 bytes, Node ${process.version}\n`,
);
for (const [label, copy] of cases) {
  process.stdout.write(`  ${label.padEnd(42)} ${measure(copy).toFixed(0).padStart(7)} MB/s\n`);
}
segment.close();
