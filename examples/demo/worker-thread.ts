/**
 * The Demo service's worker-thread module: each pool worker loads it and
 * boots one runtime hosting Demo.
 */
import { workerEntry } from '../../transports/server-entry.js';
import { Demo, DemoLive } from './demo-service.js';

export default await workerEntry([Demo], DemoLive);
