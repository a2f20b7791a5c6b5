/** Trace recording: frame sources (video file, dataset clip) and recording a layers model into trace format v1. */
export { levelDtype } from '../../traces/npy.js';
export { recordTrace, PIXEL_LEVELS, type RecordOptions, type RecordResult } from './record.js';
export {
  datasetSource,
  videoSource,
  type DatasetSourceOptions,
  type FrameShape,
  type FrameSource,
  type SourceOptions,
  type VideoSourceOptions,
} from './sources.js';
export { recordGraphTrace, recordModelTrace, type RecordGraphOptions, type RecordModelOptions } from './from-model.js';
export { recordKerasModelTrace, recordKerasTrace, type RecordKerasModelOptions, type RecordKerasOptions } from './keras-model.js';
export { loadKerasModel, NSFWJS_MODELS, type LoadedKerasModel } from './keras/load.js';
