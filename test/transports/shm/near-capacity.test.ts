import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionShm } from '../../../src/protocol/connection-shm.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { SHM_HEADER_SIZE, SHM_MAX_ALLOCS, SHM_WARN_ALLOCS, initSegmentHeader, nearCapacityMessage } from '../../../src/wire/shm-segment.js';
import { shmAvailable } from '../../../transports/shm/mapping.js';
import { createClientSegment, segmentAttacher } from '../../../transports/shm/segments.js';

const SIZE = SHM_HEADER_SIZE + 64 * 1024;

/** Fill `allocate` with one-byte regions until the table holds `n`. */
const fill = (allocate: (size: number) => number | undefined, n: number): void => {
  for (let i = 0; i < n; i++) if (allocate(1) === undefined) throw new Error(`allocation ${i} did not fit`);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the allocator near capacity (the reference warns at 80% of the table)', () => {
  it('says what the reference says', () => {
    expect(SHM_WARN_ALLOCS).toBe(3275);
    expect(nearCapacityMessage(SHM_WARN_ALLOCS)).toBe(`SHM allocator near capacity: 3275/${SHM_MAX_ALLOCS} allocations (80%)`);
  });

  it('a server connection reports every allocation from 80% on, naming the segment', () => {
    const seen: [number, string][] = [];
    const bytes = new Uint8Array(SIZE);
    initSegmentHeader(bytes);
    const conn = new ConnectionShm({
      minBatchBytes: 1,
      attach: (name) => ({ name, bytes, close: () => undefined }),
      onNearCapacity: (count, segment) => seen.push([count, segment]),
    });
    conn.refresh(new Map([[Keys.shmSegmentName, '/vgi_test_seg'], [Keys.shmSegmentSize, String(SIZE)]]));
    const allocator = conn.channel!.allocator;
    fill((n) => allocator.allocate(n), SHM_WARN_ALLOCS - 1);
    expect(seen).toEqual([]);
    fill((n) => allocator.allocate(n), 2);
    expect(seen).toEqual([[SHM_WARN_ALLOCS, '/vgi_test_seg'], [SHM_WARN_ALLOCS + 1, '/vgi_test_seg']]);
  });

  it.skipIf(!shmAvailable())('the server attacher logs it on stderr; a client segment emits one process warning', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    segmentAttacher(1)!.onNearCapacity!(SHM_WARN_ALLOCS, 'vgi_x');
    expect(lines.join('')).toContain(`${nearCapacityMessage(SHM_WARN_ALLOCS)} in segment vgi_x`);

    const segment = createClientSegment({ size: SIZE });
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (w: Error): void => { warnings.push(w); };
    process.on('warning', onWarning);
    try {
      const allocator = segment.channel.allocator;
      fill((n) => allocator.allocate(n), SHM_WARN_ALLOCS + 10);
      await new Promise<void>((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
      segment.close();
    }
    const ours = warnings.filter((w) => w.code === 'VGI_RPC_SHM_NEAR_CAPACITY');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toContain(nearCapacityMessage(SHM_WARN_ALLOCS));
  });
});
