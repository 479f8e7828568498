/**
 * The Bench service's worker-thread module: each pool worker loads it and
 * boots one runtime hosting Bench.
 */
import { workerEntry } from '../../runtime/worker-entry.js';
import { Bench, BenchLive } from './bench-service.js';

export default await workerEntry([Bench], BenchLive);
