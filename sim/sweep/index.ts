/** deltasim sweeps: grids over hw-model parameters, run on worker threads, sharded, resumable, merged. */
export * from './grid.js';
export * from './patch.js';
export * from './job.js';
export * from './shard.js';
export * from './journal.js';
export * from './pool.js';
export * from './output.js';
export * from './run.js';
export * from './merge.js';
