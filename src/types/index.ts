/**
 * The value-type vocabulary used to declare parameters, results, headers and
 * stream schemas: `T.float64`, `T.list(T.utf8)`, `T.record('Point', {...})`...
 */
export * from './value-type.js';
export * from './scalars.js';
export * from './containers.js';
export * from './record.js';
export * from './from-arrow.js';
