/** deltasim simulator core: the public API (pure TypeScript; no tfjs, canvas or CLI). */
export * from './workload.js';
export * from './topology.js';
export * from './hw-model.js';
export * from './energy-table.js';
export * from './actions.js';
export * from './work-model.js';
export * from './mapping.js';
export * from './memory.js';
export * from './energy.js';
export * from './effective-macs.js';
export * from './simulate.js';
export * from './event-engine.js';
export * from './trace-work.js';
export * from './trace-work-model.js';
export * from './frame-table.js';
export * from './simulate-trace.js';
