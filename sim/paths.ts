/** Where the data files that ship with deltasim live (resolved from the package, not the cwd). */
import { packagePath } from '../lib/package-dir.js';

export const TOPOLOGIES_DIR = packagePath('sim', 'topologies', '/');
export const HW_MODELS_DIR = packagePath('hw-models', '/');
export const ENERGY_DIR = packagePath('hw-models', 'energy', '/');
