/** Where the data files that ship with deltasim live (resolved from this module, not the cwd). */
import { fileURLToPath } from 'node:url';

export const TOPOLOGIES_DIR = fileURLToPath(new URL('./topologies/', import.meta.url));
export const HW_MODELS_DIR = fileURLToPath(new URL('../hw-models/', import.meta.url));
export const ENERGY_DIR = fileURLToPath(new URL('../hw-models/energy/', import.meta.url));
