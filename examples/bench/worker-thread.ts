/**
 * The Bench service's worker-thread module: each pool worker loads it and
 * boots one runtime hosting Bench.
 */
import { workerEntry } from '../../transports/worker-module.js';
import { Bench, BenchLive } from './bench-service.js';

export default await workerEntry([Bench], BenchLive);
