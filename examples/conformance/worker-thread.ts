/**
 * The conformance worker's worker-thread module: each pool worker loads it
 * and boots one runtime hosting ConformanceService (of the generation in
 * `VGI_CONFORMANCE_GENERATION`, set by the worker CLI; default 90) and
 * conformance.Secondary.v1.
 */
import { workerEntry } from '../../transports/worker-module.js';
import { conformanceHosting, generationFromEnv, serveStartHook } from './hosting.js';

const { services, layer } = conformanceHosting(generationFromEnv());

export default await workerEntry(services, layer, serveStartHook());
