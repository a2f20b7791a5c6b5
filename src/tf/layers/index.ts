/** The custom layers; importing this module registers them for (de)serialisation. */
export { absSign, quantise, sumToShape, temporalDeltas, toLevels } from './quantise.js';
export {
  QuantisedActivation,
  MIN_STEP,
  activityCounts,
  type QuantisedActivationArgs,
  type ActivationName,
} from './quantised-activation.js';
export { DeltaActivation, type DeltaActivationArgs, type ThresholdGranularity, type DeltaLevel } from './delta-activation.js';
export { L1Activation, type L1ActivationArgs } from './l1-activation.js';
export { FrameWise, frameWise } from './frame-wise.js';
export { FrozenFrameWise } from './frozen-frame-wise.js';
export { MotionInput } from './motion-input.js';
