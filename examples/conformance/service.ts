/**
 * ConformanceService: the reference conformance protocol (name
 * `ConformanceService`, protocol_version `2.0.0`), assembled from the method
 * groups of this folder, with its handlers as a Layer.
 *
 * Two generations are exported. `ConformanceService` is the newest (90
 * methods, hash 05479410…). `ConformanceService89` is the peer era (89
 * methods, no `published_string`, hash 4b026920…), which is what the npm
 * peer @query-farm/vgi-rpc 0.25.4 speaks; host it when a peer-era client
 * compares protocol hashes. Both carry the same wire name and therefore the
 * same Layer tag: provide exactly one of `conformanceLayer` /
 * `conformance89Layer`, matching the definition you host.
 */
import type * as Layer from 'effect/Layer';
import type { ServiceImpl } from '../../src/service/service.js';
import { Service } from '../../src/index.js';
import { dataclassHandlers, dataclassMethods } from './dataclasses.js';
import { type ConformanceOptions, conformanceEnv } from './env.js';
import { exchangeHandlers, exchangeMethods } from './exchanges.js';
import { producerHandlers, producerMethods } from './producers.js';
import { publishedHandlers, publishedMethods } from './published.js';
import { stateHandlers, stateMethods } from './state.js';
import { unaryHandlers, unaryMethods } from './unary.js';

/** Wire name of the conformance protocol. */
export const CONFORMANCE_PROTOCOL = 'ConformanceService';

/** Declared protocol_version (clients must match major.minor). */
export const CONFORMANCE_VERSION = '2.0.0';

/** The 89 methods of the peer era. */
export const peerEraMethods = { ...unaryMethods, ...dataclassMethods, ...stateMethods, ...producerMethods, ...exchangeMethods };

/** The 90 methods of the newest generation. */
export const conformanceMethods = { ...peerEraMethods, ...publishedMethods };

/** ConformanceService, newest generation (90 methods). */
export const ConformanceService = Service.define(CONFORMANCE_PROTOCOL, { version: CONFORMANCE_VERSION }, conformanceMethods);

/** ConformanceService as the npm peer 0.25.4 knows it (89 methods, no `published_string`). */
export const ConformanceService89 = Service.define(CONFORMANCE_PROTOCOL, { version: CONFORMANCE_VERSION }, peerEraMethods);

const peerEraHandlers = (options: ConformanceOptions) => {
  const env = conformanceEnv(options);
  return { ...unaryHandlers, ...dataclassHandlers, ...stateHandlers(env), ...producerHandlers(env), ...exchangeHandlers(env) };
};

/** Handlers of the 90-method ConformanceService, as a Layer. */
export const conformanceLayer = (options: ConformanceOptions = {}): Layer.Layer<ServiceImpl<typeof conformanceMethods>> =>
  ConformanceService.toLayer({ ...peerEraHandlers(options), ...publishedHandlers });

/** Handlers of the 89-method ConformanceService89, as a Layer. */
export const conformance89Layer = (options: ConformanceOptions = {}): Layer.Layer<ServiceImpl<typeof peerEraMethods>> =>
  ConformanceService89.toLayer(peerEraHandlers(options));
