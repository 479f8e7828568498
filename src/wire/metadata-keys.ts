/**
 * Every `vgi_rpc.*` batch custom_metadata key of the protocol, with the
 * values the protocol fixes. Keys and values are UTF-8 strings.
 */
export const Keys = {
  method: 'vgi_rpc.method',
  protocol: 'vgi_rpc.protocol',
  requestVersion: 'vgi_rpc.request_version',
  protocolVersion: 'vgi_rpc.protocol_version',
  requestId: 'vgi_rpc.request_id',
  serverId: 'vgi_rpc.server_id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  cancel: 'vgi_rpc.cancel',
  logLevel: 'vgi_rpc.log_level',
  logMessage: 'vgi_rpc.log_message',
  logExtra: 'vgi_rpc.log_extra',
  errorKind: 'vgi_rpc.error_kind',
  errorCode: 'vgi_rpc.error_code',
  errorDetails: 'vgi_rpc.error_details',
  streamState: 'vgi_rpc.stream_state#b64',
  callState: 'vgi_rpc.call_state#b64',
  shmSegmentName: 'vgi_rpc.shm_segment_name',
  shmSegmentSize: 'vgi_rpc.shm_segment_size',
  shmOffset: 'vgi_rpc.shm_offset',
  shmLength: 'vgi_rpc.shm_length',
  shmSource: 'vgi_rpc.shm_source',
  location: 'vgi_rpc.location',
  locationSha256: 'vgi_rpc.location.sha256',
  locationFetchMs: 'vgi_rpc.location.fetch_ms',
  locationSource: 'vgi_rpc.location.source',
  transportShm: 'vgi_rpc.transport.shm',
} as const;

/** The wire-protocol version: the single ASCII byte "1". */
export const REQUEST_VERSION = '1';

/** Client log levels, most to least severe; EXCEPTION marks an error batch. */
export type LogLevel = 'EXCEPTION' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';

/** The log levels a handler may emit (EXCEPTION is reserved for errors). */
export const CLIENT_LOG_LEVELS: readonly Exclude<LogLevel, 'EXCEPTION'>[] = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'];

/** Reserved method name answered before routing (SHM capability negotiation). */
export const TRANSPORT_OPTIONS_METHOD = '__transport_options__';

/** Retired introspection method; answered with method_not_implemented and a pointer to Reflection. */
export const RETIRED_DESCRIBE_METHOD = '__describe__';
