/**
 * The modes a simulation runs, as rows of one table: which events a mode's engine consumes, whether it
 * keeps per-neuron state between frames, what a hw-model must be able to do to run it, and what it is
 * compared against. A new mode is one row here (and, if it needs a new ability, one capability that
 * each engine declares).
 */
import { InputError } from '../lib/errors.js';
import type { EventKind } from './activity.js';
import { engineFor, type Capability } from './engines/index.js';
import type { HwModel } from './hw-model.js';

export interface ModeRule {
  /** The events the engine consumes: null = every input (dense: the data does not matter). */
  events: EventKind | null;
  /** Keeps per-neuron delta state between frames: state SRAM, its traffic, a key frame. */
  stateful: boolean;
  /** Zero weights count (sparse weights are skipped or gated); dense mode computes every weight. */
  weightZeros: boolean;
  /** What the hw-model must be able to do. */
  needs: Capability | null;
  /** Speedup and energy gain are against this mode on the same hw-model. */
  reference: Mode;
  /** A second comparison on the same hw-model, made when that mode runs too (delta: sparse, what the state must beat). */
  alsoVs: Mode | null;
}

const ROWS = {
  dense: { events: null, stateful: false, weightZeros: false, needs: null, reference: 'dense', alsoVs: null },
  sparse: { events: 'sparse', stateful: false, weightZeros: true, needs: 'skipsOrGatesZeros', reference: 'dense', alsoVs: null },
  delta: { events: 'delta', stateful: true, weightZeros: true, needs: 'deltaState', reference: 'dense', alsoVs: 'sparse' },
} as const;

/** A mode: a row of the table (its key), so a new mode is one row. */
export type Mode = keyof typeof ROWS;

export const MODE_TABLE: Readonly<Record<Mode, ModeRule>> = ROWS;

/** Every mode, in table order (the order of results and columns). */
export const MODES = Object.keys(MODE_TABLE) as Mode[];

/** What a capability means, for error messages. */
const CAPABILITY_TEXT: Record<Capability, string> = {
  skipsOrGatesZeros: 'skips or gates zeros',
  deltaState: 'has "delta": true',
};

/** The modes a hw-model runs: those whose needed capability its engine declares. */
export function supportedModes(hw: HwModel): Mode[] {
  const can = engineFor(hw).capabilities(hw);
  return MODES.filter((m) => {
    const need = MODE_TABLE[m].needs;
    return need === null || can[need];
  });
}

/** Checks a mode (or 'all') against what the hw-model supports; returns the modes to run. */
export function resolveModes(hw: HwModel, mode: Mode | 'all'): Mode[] {
  const supported = supportedModes(hw);
  const modes = mode === 'all' ? supported : [mode];
  for (const m of modes)
    if (!supported.includes(m)) {
      const need = MODE_TABLE[m].needs;
      throw new InputError(
        `mode "${m}" needs a hw-model that ${need ? CAPABILITY_TEXT[need] : 'runs it'}; "${hw.name}" supports ${supported.join(', ')}`,
        { file: hw.source },
      );
    }
  return modes;
}

/** The event kinds a set of modes consumes (what a trace's activity must hold). */
export function eventKindsOf(modes: readonly Mode[]): EventKind[] {
  const kinds: EventKind[] = [];
  for (const m of modes) {
    const k = MODE_TABLE[m].events;
    if (k && !kinds.includes(k)) kinds.push(k);
  }
  return kinds;
}
