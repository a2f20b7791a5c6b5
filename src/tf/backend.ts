/**
 * The one place the tfjs side of deltasim gets TensorFlow.js from, and picks where it runs.
 *
 *   import { tf, initBackend } from './backend.js';
 *   await initBackend();          // 'tensorflow' | 'wasm' | 'cpu'
 *
 * Order of preference: tfjs-node ('tensorflow', native libtensorflow) when it loads, else
 * `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, one thread in Node) with the replacement
 * kernels of `./kernels/`, else the pure-JS `cpu` backend.
 *
 * Only one tfjs engine is ever in play: `@tensorflow/tfjs` is imported statically here, and
 * tfjs-node / tfjs-backend-wasm are imported dynamically and only when chosen. tfjs-node
 * requires the same hoisted `@tensorflow/tfjs` (it pins 4.22.0, as we do), registers its
 * 'tensorflow' backend into that engine and makes it current as a side effect of the import;
 * we accept it only if that backend shows up in OUR registry (a second copy of tfjs would mean
 * two engines, and tensors from one could not be used by the other). When tfjs-node is absent
 * or its native addon is missing (the usual case: its install script downloads libtensorflow),
 * the import throws and nothing is registered; the wasm module is then imported, which
 * registers the 'wasm' backend (priority 2) beside tfjs' own 'cpu' (1) and 'webgl' (2, unusable
 * in Node), and we select it explicitly rather than rely on priorities.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerReplacementKernels } from './kernels/index.js';

export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'node' | 'wasm' | 'cpu';

export interface InitBackendOptions {
  /** First backend to try; the ones after it in node → wasm → cpu are the fall-backs. */
  prefer?: BackendPreference;
  /** Do not print which backend runs (or why a preferred one was skipped). */
  quiet?: boolean;
}

const ORDER: BackendPreference[] = ['node', 'wasm', 'cpu'];

let chosen: Promise<BackendName> | undefined;

/**
 * Selects and initialises the tfjs backend once per process; later calls return the same
 * answer whatever their options (switching engines mid-run would strand existing tensors).
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  chosen ??= choose(opts);
  return chosen;
}

async function choose({ prefer = 'node', quiet = false }: InitBackendOptions): Promise<BackendName> {
  const log = (msg: string) => {
    if (!quiet) console.error(`[deltasim] ${msg}`);
  };
  for (const kind of ORDER.slice(ORDER.indexOf(prefer))) {
    try {
      const name = await TRY[kind]();
      log(`tfjs backend: ${describe(name)}`);
      return name;
    } catch (err) {
      log(`tfjs backend ${kind} unavailable (${firstLine(err)}); falling back`);
    }
  }
  throw new Error('no tfjs backend could be initialised (not even cpu)');
}

const TRY: Record<BackendPreference, () => Promise<BackendName>> = {
  async node() {
    // A variable specifier keeps the type-checker from requiring the optional package.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
    if (tf.findBackendFactory('tensorflow') == null) {
      throw new Error('tfjs-node loaded a different copy of @tensorflow/tfjs than deltasim uses');
    }
    await select('tensorflow');
    return 'tensorflow';
  },
  async wasm() {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    registerReplacementKernels();
    // Node has no wasm threads in tfjs 4.x; say so rather than let it probe.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    // The .wasm binaries sit next to the package's main file (dist/); a plain file path works in Node.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
    await select('wasm');
    return 'wasm';
  },
  async cpu() {
    await select('cpu');
    return 'cpu';
  },
};

async function select(name: BackendName): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

function describe(name: BackendName): string {
  if (name !== 'wasm') return name;
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  return `wasm (${simd}, 1 thread, replacement kernels for missing/wrong gradients)`;
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0]!;
}
