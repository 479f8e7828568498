/**
 * Client-side view of server log batches.
 */
import { Keys } from '../wire/metadata-keys.js';

/** A log record received from the server. */
export interface ReceivedLog {
  readonly level: string;
  readonly message: string;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  readonly serverId: string | undefined;
  readonly requestId: string | undefined;
}

/** Callback receiving server logs. */
export type LogHandler = (log: ReceivedLog) => void;

/** Parse a log batch's metadata. */
export const logFromMetadata = (md: ReadonlyMap<string, string>): ReceivedLog => {
  let extra: Record<string, unknown> | undefined;
  const raw = md.get(Keys.logExtra);
  if (raw !== undefined) {
    try {
      extra = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      extra = { raw };
    }
  }
  return { level: md.get(Keys.logLevel) ?? '', message: md.get(Keys.logMessage) ?? '', extra, serverId: md.get(Keys.serverId), requestId: md.get(Keys.requestId) };
};
