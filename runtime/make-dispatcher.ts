/**
 * Building a dispatcher for one thread: the service Layer becomes an Effect
 * runtime (disposed with the dispatcher) with the server's logger on stderr,
 * the hosted protocols are collected from its context, and calls and
 * streams run as supervised actors (actors/).
 */
import * as Context from 'effect/Context';
import * as Layer from 'effect/Layer';
import * as ManagedRuntime from 'effect/ManagedRuntime';
import * as Option from 'effect/Option';
import { setDiagnosticLevel } from './diagnostics.js';
import { Dispatcher, type DispatcherOptions, type Hostable } from '../src/protocol/dispatcher.js';
import { Hosting } from '../src/protocol/hosting.js';
import type { ServiceImpl } from '../src/service/service.js';
import { workerActors } from '../actors/index.js';
import { Supervisor } from '../actors/supervisor.js';
import { serverLogging } from './server-logger.js';

/**
 * Build a dispatcher for `services` from a Layer that provides their
 * implementations. `dispose` releases the Layer's resources.
 */
export const makeDispatcher = async <E>(
  services: readonly Hostable[],
  layer: Layer.Layer<ServiceImpl<any>, E, never>,
  options: DispatcherOptions = {},
): Promise<{ dispatcher: Dispatcher; dispose: () => Promise<void> }> => {
  // The logger comes first, so what the service Layer logs while it is built goes through it too.
  if (options.logLevel !== undefined) setDiagnosticLevel(options.logLevel);
  const runtime = ManagedRuntime.make((layer as Layer.Layer<never, E, never>).pipe(Layer.provideMerge(serverLogging(options.logLevel))));
  const rt = await runtime.runtime();
  const impls = services.map((s) => Option.getOrUndefined(Context.getOption(rt.context as Context.Context<unknown>, s.tag as never)) as ServiceImpl | undefined);
  impls.forEach((impl, i) => {
    if (impl === undefined) throw new TypeError(`no implementation of protocol '${services[i]!.name}' is provided by the layer`);
  });
  const hosting = new Hosting(impls as ServiceImpl[], options.serverId, { reflection: options.reflection ?? true });
  return { dispatcher: new Dispatcher(hosting, workerActors(rt as never), new Supervisor(), options), dispose: () => runtime.dispose() };
};
