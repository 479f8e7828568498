/**
 * The sticky-session bench's worker-thread module: each pool worker loads
 * it and boots one runtime hosting StickyBench.
 */
import { workerEntry } from '../transports/worker-module.js';
import { StickyBench, StickyBenchLive } from './sticky-service.js';

export default await workerEntry([StickyBench], StickyBenchLive);
