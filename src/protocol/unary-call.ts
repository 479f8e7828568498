/**
 * A unary call: run the handler Effect, then write one response stream on
 * the result schema: the call's client logs, then the result row (a zero-row
 * batch for void methods; a pointer into the client's segment when large and
 * the request used one) or an EXCEPTION batch, then EOS. A call answered
 * with an EXCEPTION batch is also logged on the server (call-log).
 */
import * as Cause from 'effect/Cause';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import { StreamEncoder } from '../wire/batch-encoder.js';
import type { ShmChannel } from '../wire/shm-pointer.js';
import type { UnaryMethod } from '../service/method.js';
import { ErrorKind, RpcError, toWireError } from '../service/errors.js';
import type { ValueType } from '../types/value-type.js';
import { type CallRunner, type CallScope, type ConnectionCalls, type InterruptReason, interruptFiberId } from './call-scope.js';
import type { CallContext, ClientLogRecord } from '../service/call-context.js';
import { errorMetadata, type Stamp, writeLogs } from './responses.js';
import { type CallFailure, type CallName, logFailure } from './call-log.js';

/** Turn a failed Exit into the error to report (failures first, then defects, then interruption with its reason). */
export const causeError = (cause: Cause.Cause<unknown>, reason?: InterruptReason): unknown => {
  const failure = Cause.failureOption(cause);
  if (failure._tag === 'Some') return failure.value;
  const first = [...Cause.defects(cause)][0];
  if (first !== undefined) return first;
  if (reason?._tag === 'shutdown') return RpcError.of('ServerShutdownError', `the server shut down before the call finished: ${reason.detail}`, ErrorKind.serverDraining);
  if (reason?._tag === 'disconnect') return RpcError.of('CancelledError', `the client went away: ${reason.detail}`);
  return RpcError.of('CancelledError', 'the call was interrupted');
};

const NO_LOGS = (): ClientLogRecord[] => [];

/**
 * Run a unary handler and encode its complete response stream into `out`.
 * A handler that returns a plain value (Effect.succeed / Effect.fail) needs
 * neither a fiber nor a call context; `openScope` is only called otherwise.
 * Resolves true when the call was answered with an EXCEPTION batch.
 */
export const runUnary = async (
  out: Uint8Array[],
  runner: CallRunner,
  call: CallName,
  openScope: () => CallScope,
  method: UnaryMethod,
  handler: (params: never) => Effect.Effect<unknown, unknown, never>,
  params: Record<string, unknown>,
  stampOf: () => Stamp,
  calls?: ConnectionCalls,
  shm?: ShmChannel,
): Promise<boolean> => {
  // The connection's calls are being interrupted (shutdown, or the client is gone): start no new one.
  if (calls?.reason !== undefined) {
    encodeUnaryResponse(out, method, Exit.interrupt(interruptFiberId(calls.reason)), NO_LOGS, stampOf, calls.reason);
    return true;
  }
  let effect: Effect.Effect<unknown, unknown, never>;
  try {
    effect = handler(params as never);
  } catch (e) {
    effect = Effect.die(e);
  }
  if (Exit.isExit(effect)) {
    const failed = encodeUnaryResponse(out, method, effect, NO_LOGS, stampOf, calls?.reason, shm);
    if (failed !== undefined) logFailure(runner, call, failed);
    return failed !== undefined;
  }
  const scope = openScope();
  const exit = await runner.withContext(scope.context).run(effect as Effect.Effect<unknown, unknown, CallContext>, calls);
  const failed = encodeUnaryResponse(out, method, exit, () => scope.takeLogs(), () => ({ serverId: scope.context.serverId, requestId: scope.context.requestId }), calls?.reason, shm);
  if (failed !== undefined) logFailure(runner, call, failed);
  return failed !== undefined;
};

/**
 * Encode the response stream of a finished unary call. Returns how it
 * failed when it was answered with an EXCEPTION batch (a result the method
 * cannot encode counts as a defect of the handler).
 */
export const encodeUnaryResponse = (
  out: Uint8Array[],
  method: UnaryMethod,
  exit: Exit.Exit<unknown, unknown>,
  takeLogs: CallScope['takeLogs'],
  stampOf: () => Stamp,
  reason?: InterruptReason,
  shm?: ShmChannel,
): CallFailure | undefined => {
  const enc = new StreamEncoder(method.resultSchema);
  enc.writeSchema(out);
  const start = out.length;
  const logs = takeLogs();
  if (logs.length > 0) writeLogs(out, enc, logs, stampOf());
  if (Exit.isSuccess(exit)) {
    try {
      const result = method.result as ValueType<unknown> | undefined;
      if (result === undefined) enc.writeColumns(out, 0, []);
      else {
        const v = exit.value;
        if ((v === null || v === undefined) && !result.nullable) throw new TypeError(`method returned ${String(v)} but its result type ${result.label} is not nullable`);
        // A large result goes through the client's segment when the request used it.
        if (shm !== undefined) shm.writeBatch(enc, out, 1, [result.encode([v])]);
        else enc.writeColumns(out, 1, [result.encode([v])]);
      }
      enc.writeEos(out);
      return undefined;
    } catch (e) {
      out.length = start;
      const stamp = stampOf();
      const error = toWireError(e);
      writeLogs(out, enc, logs, stamp);
      enc.writeEmpty(out, errorMetadata(error, stamp));
      enc.writeEos(out);
      return { cause: Cause.die(e), error, requestId: stamp.requestId };
    }
  }
  const stamp = stampOf();
  const error = toWireError(causeError(exit.cause, reason));
  enc.writeEmpty(out, errorMetadata(error, stamp));
  enc.writeEos(out);
  return { cause: exit.cause, error, requestId: stamp.requestId };
};
