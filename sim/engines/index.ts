/**
 * Engines by hw kind, as mapping.ts's DATAFLOWS are by dataflow. A new hw kind is one engine file,
 * one row here and its branch of hw-models/schema.json.
 */
import type { HwModel } from '../hw-model.js';
import type { Engine } from './engine.js';
import { eventEngine } from './event.js';
import { systolicEngine } from './systolic.js';

export type { Capability, Engine, HwDescription, LayerCompute, LayerStep } from './engine.js';

const ENGINES: { [K in HwModel['kind']]: Engine<Extract<HwModel, { kind: K }>> } = {
  systolic: systolicEngine,
  event: eventEngine,
};

/** The engine of a hw-model's kind. */
export function engineFor(hw: HwModel): Engine {
  return ENGINES[hw.kind] as Engine;
}
