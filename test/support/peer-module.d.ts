/**
 * Type-checking stand-in for the peer package in tests: its published
 * typings pull in its TypeScript sources, which do not pass our strict
 * settings. Tests drive it dynamically; these loose types are enough.
 */
export declare const pipeConnect: (...args: any[]) => any;
export declare class RpcError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly remoteTraceback: string;
}
export type LogMessage = { level: string; message: string; extra?: Record<string, unknown> };
export type PipeStreamSession = any;
export declare const httpConnect: (...args: any[]) => any;
export type HttpStreamSession = any;
export type RpcClient = any;
