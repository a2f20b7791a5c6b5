/**
 * Technology-node scaling: the one rule that moves an energy table's energy and area from its node to another
 * (a hw-model's `technologyNm`). Only the nodes below are supported, each with sourced figures
 * (docs/energy-sources.md, "Technology-node scaling"):
 *
 * - energy: A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS device performance from
 *   180 nm to 7 nm", Integration 58:74–81, 2017: the fitted energy polynomial a·V² + b·V + c (PTM HP) at 0.9 V
 *   (Horowitz's voltage, held fixed so that only the node changes). 22 nm is not one of its nodes: it is taken
 *   linearly in feature size between 32 and 20 nm, as the seneca-22nm table always did.
 * - area: the published 6T SRAM bit cell of Intel's process at each node (the densest layout a node offers, and the
 *   one area figure published for every node here); logic is scaled by the same ratio.
 *
 * Leakage is not scaled (no sourced rule: it depends on threshold voltage and process flavour more than on the
 * node), nor is DRAM (the device's energy does not depend on the accelerator's node).
 */

export interface NodeFigures {
  /** Stillmaker & Baas energy polynomial at 0.9 V (relative energy of a gate at this node). */
  energy: number;
  /** 6T SRAM bit cell, µm². */
  bitcellUm2: number;
}

/** The supported nodes (nm) and their sourced figures; the arithmetic is in docs/energy-sources.md. */
export const NODES: Readonly<Record<number, NodeFigures>> = {
  // S&B HP45 (1.018, −0.3107, 0.1539) at 0.9 V; K. Mistry et al., IEDM 2007 (Intel 45 nm): 0.346 µm².
  45: { energy: 0.6989, bitcellUm2: 0.346 },
  // S&B HP32 (0.8367, −0.4341, 0.1701) at 0.9 V; S. Natarajan et al., IEDM 2008 (Intel 32 nm): 0.171 µm².
  32: { energy: 0.4571, bitcellUm2: 0.171 },
  // 32 nm + (10/12)·(20 nm − 32 nm) with S&B HP20 (0.373, −0.1582, 0.04104) = 0.2008; C. Auth et al., VLSI 2012 (Intel 22 nm): 0.092 µm².
  22: { energy: 0.2435, bitcellUm2: 0.092 },
  // S&B HP14 (0.2363, −0.09675, 0.02239) at 0.9 V; S. Natarajan et al., IEDM 2014 (Intel 14 nm): 0.0588 µm².
  14: { energy: 0.1267, bitcellUm2: 0.0588 },
};

export const SUPPORTED_NODES: readonly number[] = Object.keys(NODES)
  .map(Number)
  .sort((a, b) => b - a);

export function isSupportedNode(nm: number): boolean {
  return Object.hasOwn(NODES, nm);
}

/** Factors that take energy and area from node `fromNm` to node `toNm` (1 and 1 for the same node). */
export function nodeScaling(fromNm: number, toNm: number): { energy: number; area: number } {
  const a = NODES[fromNm];
  const b = NODES[toNm];
  if (!a || !b) throw new RangeError(`technology node ${a ? toNm : fromNm} nm is not supported (${SUPPORTED_NODES.join(', ')} nm)`);
  return { energy: b.energy / a.energy, area: b.bitcellUm2 / a.bitcellUm2 };
}

/**
 * The shipped dense baseline at each node (hw-models/): a run is compared with the dense array at its own node by
 * default, so that no gain comes from the node alone. Undefined: no shipped baseline at that node.
 */
const DENSE_BASELINES: Readonly<Record<number, string>> = { 45: 'dense-32x32', 22: 'dense-32x32-22nm' };

export function denseBaselineFor(nm: number): string | undefined {
  return DENSE_BASELINES[nm];
}
