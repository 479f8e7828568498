/**
 * Classification of batches received by a client, exactly in the reference
 * order: data (rows, or no metadata) > log/error (zero rows with level and
 * message) > external pointer > SHM pointer > token > data.
 */
import { Keys } from './metadata-keys.js';
import type { BatchMetadata } from './message-codec.js';

/** What a received batch means. */
export type BatchKind = 'data' | 'log' | 'error' | 'externalPointer' | 'shmPointer' | 'token';

/** Classify a batch by its row count and custom metadata. */
export const classifyBatch = (numRows: number, metadata: BatchMetadata | undefined): BatchKind => {
  if (metadata === undefined || metadata.size === 0 || numRows > 0) return 'data';
  const level = metadata.get(Keys.logLevel);
  if (level !== undefined && metadata.has(Keys.logMessage)) return level === 'EXCEPTION' ? 'error' : 'log';
  if (metadata.has(Keys.location)) return 'externalPointer';
  // A pointer only without log_level (vgi_rpc/shm.py is_shm_pointer_batch), even when log_message is missing.
  if (metadata.has(Keys.shmOffset) && !metadata.has(Keys.logLevel)) return 'shmPointer';
  if (metadata.has(Keys.streamState)) return 'token';
  return 'data';
};
