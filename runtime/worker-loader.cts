/**
 * The script piscina loads in every pool worker, in place of the application's worker module.
 *
 * piscina loads a worker's module with `require()` first and falls back to `import()`. On Node
 * 20.19+ that first `require()` of an ES module is require(esm): Node links the application's
 * whole module graph synchronously, finds its top-level await, and throws for the fallback to
 * load it again. That detour has aborted a process once (a fatal `v8::Module::IsGraphAsync`
 * check in a CI run). This CommonJS file is what piscina requires instead; it imports the
 * application's module (named by the pool's workerData) with `import()` only, and hands piscina
 * a promise of its default export under the export name `handler`, the pool's task entry.
 * A module that fails to load rejects that promise, which fails the worker's start-up as before.
 */
import threads = require('node:worker_threads');

const data = threads.workerData as { readonly module?: unknown } | undefined;
const href = data?.module;
if (typeof href !== 'string') throw new TypeError('vgi-rpc: the worker loader was started without the worker module in its workerData');

/** The application's task function, once its module has loaded. */
const handler: Promise<unknown> = import(href).then((m: { readonly default?: unknown }) => m.default);

export = { handler };
