/**
 * PNG charts for reports: chart.js v4 drawn on @napi-rs/canvas (no DOM, no browser).
 * Each chart is one small function from plain data to PNG bytes. Rendering is synchronous
 * (animation off, responsive off, devicePixelRatio 1) so the same data gives the same bytes.
 */
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';

Chart.register(...registerables);

/** Fonts tried in order; the first one the canvas knows is used for every label. */
const PREFERRED_FONTS = ['DejaVu Sans', 'Liberation Sans', 'Noto Sans', 'Arial', 'Helvetica'];
const SYSTEM_FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', '/System/Library/Fonts', 'C:\\Windows\\Fonts'];

/**
 * The font family charts use. @napi-rs/canvas normally finds the system fonts itself; where it
 * does not, the usual font folders are loaded so that text does not silently vanish.
 */
export function chartFontFamily(): string | undefined {
  const pick = () => PREFERRED_FONTS.find((f) => GlobalFonts.has(f)) ?? GlobalFonts.families[0]?.family;
  let family = pick();
  if (family === undefined) {
    for (const dir of SYSTEM_FONT_DIRS) {
      try {
        GlobalFonts.loadFontsFromDir(dir);
      } catch {
        /* folder absent on this OS */
      }
    }
    family = pick();
  }
  return family;
}

const fontFamily = chartFontFamily();
if (fontFamily !== undefined) Chart.defaults.font.family = fontFamily;
Chart.defaults.font.size = 13;
Chart.defaults.color = '#222';

/** Colour per mode, so that dense / sparse / delta look the same in every chart. */
export const MODE_COLOURS: Record<string, string> = { dense: '#4e79a7', sparse: '#f28e2b', delta: '#59a14f' };
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
/** A mode's own colour (`delta`, or `delta @ arch`), else a palette colour by position. */
const colourOf = (name: string, i: number) => MODE_COLOURS[name.split(' ')[0]!] ?? PALETTE[i % PALETTE.length]!;
/** `#rrggbb` with an alpha, for bands and fills. */
const withAlpha = (hex: string, a: number) => `rgba(${[1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(',')},${a})`;

export interface ChartSize {
  width?: number;
  height?: number;
}

/** chart.js leaves the canvas transparent; reports want white. */
const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function render(config: ChartConfiguration, size: ChartSize = {}): Buffer {
  const canvas = createCanvas(size.width ?? 900, size.height ?? 500);
  config.options = {
    ...config.options,
    animation: false,
    responsive: false,
    devicePixelRatio: 1,
    locale: 'en-US', // tick numbers must not depend on the machine's locale
    layout: { padding: 12 },
  };
  config.plugins = [...(config.plugins ?? []), whiteBackground];
  // chart.js only needs a 2D context; the napi-rs one implements the parts it uses.
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config);
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}

const title = (text: string, subtitle?: string) => ({
  title: { display: true, text, font: { size: 17, weight: 'bold' as const } },
  subtitle: { display: subtitle !== undefined, text: subtitle ?? '', padding: { bottom: 8 } },
  legend: { position: 'top' as const },
});
const axisTitle = (text: string) => ({ display: true, text, font: { size: 13, weight: 'bold' as const } });

// ---------------------------------------------------------------------------------------------

/** Per-layer charts are horizontal bars, one row per layer: the canvas grows downwards with the layers. */
const layerChartHeight = (rows: number, perRow: number) => Math.max(500, 170 + perRow * rows);

/** Spatial and temporal sparsity of one layer, each a fraction in [0, 1]. */
export interface LayerSparsity {
  layer: string;
  spatial: number;
  temporal: number;
}

/** Horizontal grouped bars per layer: spatial sparsity (zero activations) beside temporal (zero deltas), in %. */
export function sparsityChart(layers: LayerSparsity[], size?: ChartSize): Buffer {
  const pct = (v: number) => 100 * v;
  return render(
    {
      type: 'bar',
      data: {
        labels: layers.map((l) => l.layer),
        datasets: [
          { label: 'spatial (zero activations)', data: layers.map((l) => pct(l.spatial)), backgroundColor: '#4e79a7' },
          { label: 'temporal (zero deltas)', data: layers.map((l) => pct(l.temporal)), backgroundColor: '#59a14f' },
        ],
      },
      options: {
        indexAxis: 'y',
        plugins: title('Activation sparsity per layer', `mean over frames; ${layers.length} layers, input first`),
        scales: {
          x: { title: axisTitle('sparsity (%)'), min: 0, max: 100, position: 'top' },
          y: { title: axisTitle('layer'), ticks: { autoSkip: false, font: { size: 11 } } },
        },
      },
    },
    { width: 900, height: layerChartHeight(layers.length, 24), ...size },
  );
}

/** One layer's (or the rest's) mean value per frame in each run. */
export interface LayerCost {
  layer: string;
  values: Record<string, number>;
}

/** Horizontal bars of a per-layer cost (latency, energy), one bar per run: the layers that matter most. */
export function layerCostChart(rows: LayerCost[], what: { title: string; subtitle: string; axis: string }, size?: ChartSize): Buffer {
  const runs = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
  return render(
    {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.layer),
        datasets: runs.map((run, i) => ({ label: run, data: rows.map((r) => r.values[run] ?? 0), backgroundColor: colourOf(run, i) })),
      },
      options: {
        indexAxis: 'y',
        plugins: title(what.title, what.subtitle),
        scales: {
          x: { title: axisTitle(what.axis), beginAtZero: true, position: 'top' },
          y: { ticks: { autoSkip: false, font: { size: 11 } } },
        },
      },
    },
    { width: 900, height: layerChartHeight(rows.length, 14 + 9 * runs.length), ...size },
  );
}

/** One mode's latency per frame (index = frame number). */
export interface FrameSeries {
  mode: string;
  values: number[];
}

/**
 * Lines of per-frame latency, one per mode. `unit` names what the values are (default µs). With
 * `periodUs` (1/fps in that unit) the frame period is drawn too, so frames slower than it stand out.
 */
export function frameLatencyChart(series: FrameSeries[], unit = 'µs', size?: ChartSize, periodUs?: number): Buffer {
  const frames = Math.max(0, ...series.map((s) => s.values.length));
  const period =
    periodUs === undefined
      ? []
      : [
          {
            label: `frame period (1/fps = ${formatTick(periodUs)} ${unit})`,
            data: Array.from({ length: frames }, () => periodUs),
            borderColor: '#e15759',
            backgroundColor: '#ffffff',
            borderDash: [8, 5],
            borderWidth: 2,
            pointRadius: 0,
          },
        ];
  return render(
    {
      type: 'line',
      data: {
        labels: Array.from({ length: frames }, (_, i) => String(i)),
        datasets: [
          ...series.map((s, i) => ({
            label: s.mode,
            data: s.values,
            borderColor: colourOf(s.mode, i),
            // Another hw-model's run (the baseline) is dashed with hollow points, its legend a dashed outline.
            backgroundColor: s.mode.includes(' @ ') ? '#ffffff' : colourOf(s.mode, i),
            borderDash: s.mode.includes(' @ ') ? [4, 3] : [],
            borderWidth: 2,
            pointRadius: frames > 60 ? 0 : 2.5,
            tension: 0,
          })),
          ...period,
        ],
      },
      options: {
        plugins: title('Latency per frame', 'sum over layers; frame 0 is the key frame in delta mode'),
        scales: {
          x: { title: axisTitle('frame'), ticks: { maxTicksLimit: 20 } },
          y: { title: axisTitle(`latency (${unit})`), beginAtZero: true },
        },
      },
    },
    size,
  );
}

/** Energy per frame of one mode split into components (µJ each, e.g. compute, sram, dram, state, static). */
export interface EnergyBreakdown {
  mode: string;
  components: Record<string, number>;
}

/** Stacked bars, one per mode (or configuration: name the x axis), one stack segment per energy component (µJ per active frame). */
export function energyBreakdownChart(rows: EnergyBreakdown[], size?: ChartSize, xTitle = 'mode'): Buffer {
  const components = [...new Set(rows.flatMap((r) => Object.keys(r.components)))];
  return render(
    {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.mode),
        datasets: components.map((c, i) => ({
          label: c,
          data: rows.map((r) => r.components[c] ?? 0),
          backgroundColor: PALETTE[(i + 3) % PALETTE.length],
        })),
      },
      options: {
        plugins: title('Energy of the active frame by component', 'mean over frames; idle leakage up to 1/fps is not in it'),
        scales: {
          x: { stacked: true, title: axisTitle(xTitle) },
          y: { stacked: true, title: axisTitle('energy of the active frame (µJ)'), beginAtZero: true },
        },
      },
    },
    size,
  );
}

/** One line of a sweep chart: the median over the other parameters at each x, and its spread (min–max). */
export interface SweepLine {
  name: string;
  /** Colours the line as the mode's. */
  mode?: string;
  /** Dashed (speedups), beside solid (energy gains) of the same colour. */
  dashed?: boolean;
  points: { x: number; y: number; lo?: number; hi?: number }[];
}

/** A swept parameter and, per value, the gains there. */
export interface SweepSeries {
  /** Parameter name, e.g. `arch.rows` (zipped ones: `arch.rows = arch.cols`). */
  parameter: string;
  /** Unit of the parameter for the axis label, e.g. `PEs`, `KiB`, `GB/s`. */
  unit?: string;
  /** Draw x on a log2 axis; chosen automatically when omitted (wantsLog2). */
  log2?: boolean;
  lines: SweepLine[];
  /** Note under the title, e.g. how other parameters were aggregated. */
  note?: string;
  /** What the gains are against (default: dense on the same point). */
  reference?: string;
}

/** Log2 suits powers of two (PE counts, SRAM sizes) and wide ranges of positive values. */
export function wantsLog2(xs: number[]): boolean {
  const vs = [...new Set(xs)];
  if (vs.length < 2 || vs.some((x) => !(x > 0))) return false;
  return vs.every((x) => Number.isInteger(Math.log2(x))) || Math.max(...vs) / Math.min(...vs) >= 8;
}

const formatTick = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : Number(v.toPrecision(3)).toString());

/** The datasets of one sweep line: its min–max band (two edges, filled between) when it has one, then the median. */
function sweepLineDatasets(l: SweepLine, i: number, toX: (x: number) => number) {
  const colour = l.mode ? colourOf(l.mode, i) : PALETTE[i % PALETTE.length]!;
  const pts = [...l.points].sort((a, b) => a.x - b.x);
  const band = pts.some((p) => p.lo !== undefined && p.hi !== undefined && p.lo < p.hi);
  const edge = (k: 'lo' | 'hi') => ({
    label: '',
    data: pts.map((p) => ({ x: toX(p.x), y: p[k] ?? p.y })),
    borderWidth: 0,
    pointRadius: 0,
    backgroundColor: withAlpha(colour, l.dashed ? 0.05 : 0.1),
    fill: k === 'hi' ? '-1' : false,
  });
  return [
    ...(band ? [edge('lo'), edge('hi')] : []),
    {
      label: l.name,
      data: pts.map((p) => ({ x: toX(p.x), y: p.y })),
      borderColor: colour,
      // Dashed lines have hollow points (and a dashed outline in the legend), solid ones filled.
      backgroundColor: l.dashed ? '#ffffff' : colour,
      borderDash: l.dashed ? [7, 4] : [],
      borderWidth: 2,
      pointRadius: 4,
      fill: false,
    },
  ];
}

/** Gains (×) against one swept parameter: medians as lines, the spread over the other parameters as bands. */
export function sweepChart(s: SweepSeries, size?: ChartSize): Buffer {
  const xs = s.lines.flatMap((l) => l.points.map((p) => p.x));
  const log2 = s.log2 ?? wantsLog2(xs);
  // A log2 axis is a linear axis over log2(x) whose ticks are labelled with x itself.
  const toX = (x: number) => (log2 ? Math.log2(x) : x);
  const unit = s.unit ? ` (${s.unit}${log2 ? ', log2 scale' : ''})` : log2 ? ' (log2 scale)' : '';
  const reference = s.reference ?? 'dense on the same point';
  return render(
    {
      type: 'line',
      data: { datasets: s.lines.flatMap((l, i) => sweepLineDatasets(l, i, toX)) },
      options: {
        plugins: {
          ...title(`Gain over ${reference} vs ${s.parameter}`, s.note),
          // The band edges have no legend entry.
          legend: { position: 'top' as const, labels: { filter: (item) => item.text !== '' } },
          filler: { propagate: false },
        },
        scales: {
          x: {
            type: 'linear',
            title: axisTitle(`${s.parameter}${unit}`),
            ticks: log2 ? { stepSize: 1, callback: (v) => formatTick(2 ** Number(v)) } : { callback: (v) => formatTick(Number(v)) },
          },
          y: {
            title: axisTitle(`gain over ${reference} (×; > 1 is better)`),
            beginAtZero: true,
            // A darker grid line at 1× separates gains from losses.
            grid: { color: (c) => (c.tick?.value === 1 ? '#666' : 'rgba(0,0,0,0.1)') },
          },
        },
      },
    } as ChartConfiguration,
    size,
  );
}

/** One design point: its latency and energy per frame, a short label, and the mode it ran in. */
export interface ParetoPoint {
  latencyUs: number;
  energyUj: number;
  label: string;
  mode?: string;
}

/** Indices of the points no other point beats on both latency and energy, by increasing latency. */
export function paretoFront(points: ParetoPoint[]): number[] {
  const order = points
    .map((_, i) => i)
    .sort((a, b) => points[a]!.latencyUs - points[b]!.latencyUs || points[a]!.energyUj - points[b]!.energyUj || a - b);
  const front: number[] = [];
  let best = Infinity;
  for (const i of order) {
    if (points[i]!.energyUj < best) {
      front.push(i);
      best = points[i]!.energyUj;
    }
  }
  return front;
}

/** A log axis where the values span more than a decade (all positive), else linear from zero. */
const valueAxis = (values: number[], what: string, unit: string) => {
  const log = values.length > 1 && values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) >= 10;
  return log
    ? {
        type: 'logarithmic' as const,
        title: axisTitle(`${what} (${unit}, log scale)`),
        ticks: { callback: (v: number | string) => formatTick(Number(v)) },
      }
    : { type: 'linear' as const, title: axisTitle(`${what} (${unit})`), beginAtZero: true };
};

/** Label the front's points left to right, skipping any label that would overlap one already drawn. */
function frontLabels(frontPts: ParetoPoint[], frontDataset: number, maxLabels: number): Plugin<'scatter'> {
  return {
    id: 'frontLabels',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const drawn: { x0: number; x1: number; y0: number; y1: number }[] = [];
      ctx.save();
      ctx.font = `11px ${fontFamily ?? 'sans-serif'}`;
      ctx.fillStyle = '#333';
      chart.getDatasetMeta(frontDataset).data.forEach((el, k) => {
        const text = frontPts[k]!.label;
        const w = ctx.measureText(text).width;
        const right = el.x + 7 + w <= chartArea.right;
        const box = { x0: right ? el.x + 7 : el.x - 7 - w, x1: right ? el.x + 7 + w : el.x - 7, y0: el.y - 18, y1: el.y - 4 };
        if (drawn.length >= maxLabels || drawn.some((b) => b.x0 < box.x1 && box.x0 < b.x1 && b.y0 < box.y1 && box.y0 < b.y1)) return;
        drawn.push(box);
        ctx.textAlign = 'left';
        ctx.fillText(text, box.x0, el.y - 6);
      });
      ctx.restore();
    },
  };
}

/**
 * Scatter of every design point, one colour per mode, with the latency–energy Pareto front over all
 * of them drawn and labelled: dense on some points can beat every delta point, and this shows it.
 * `baseline` (a fixed design, e.g. the baseline hw-model's dense run) is drawn as a star.
 */
export function paretoChart(points: ParetoPoint[], size?: ChartSize, maxLabels = 12, baseline?: ParetoPoint): Buffer {
  const front = paretoFront(points);
  const frontPts = front.map((i) => points[i]!);
  const modes = [...new Set(points.map((p) => p.mode ?? 'design points'))];
  const all = [...points, ...(baseline ? [baseline] : [])];
  const xy = (p: ParetoPoint) => ({ x: p.latencyUs, y: p.energyUj });
  const datasets = [
    ...modes.map((m, i) => {
      const pts = points.filter((p) => (p.mode ?? 'design points') === m);
      return { label: `${m} (${pts.length})`, data: pts.map(xy), backgroundColor: withAlpha(colourOf(m, i), 0.55), pointRadius: 3.5 };
    }),
    {
      label: `Pareto front (${front.length})`,
      data: frontPts.map(xy),
      showLine: true,
      borderColor: '#e15759',
      backgroundColor: 'rgba(0,0,0,0)',
      borderWidth: 2,
      pointRadius: 6,
      pointBorderWidth: 2,
    },
    ...(baseline
      ? [
          {
            label: baseline.label,
            data: [xy(baseline)],
            pointStyle: 'star',
            pointRadius: 11,
            borderColor: '#111',
            backgroundColor: '#111',
            borderWidth: 2,
          },
        ]
      : []),
  ];
  return render(
    {
      type: 'scatter',
      data: { datasets },
      options: {
        plugins: title(
          'Latency–energy trade-off, every mode',
          'lower-left is better; front = points no other point (of any mode) beats on both',
        ),
        scales: {
          x: valueAxis(
            all.map((p) => p.latencyUs),
            'latency per frame',
            'µs',
          ),
          y: valueAxis(
            all.map((p) => p.energyUj),
            'active-frame energy',
            'µJ',
          ),
        },
      },
      plugins: [frontLabels(frontPts, modes.length, maxLabels)],
    } as ChartConfiguration,
    size,
  );
}

/** A two-parameter grid of gains (×): cells[y][x], undefined where a point lacks the mode. */
export interface Heatmap {
  title: string;
  subtitle?: string;
  xName: string;
  yName: string;
  xs: string[];
  ys: string[];
  cells: (number | undefined)[][];
}

/** Diverging colour of a gain: red below 1×, white at 1×, green above, by log2 up to ±`span`. */
function gainColour(g: number, span: number): string {
  const t = Math.max(-1, Math.min(1, Math.log2(g) / span));
  const [to, from] =
    t < 0
      ? [
          [215, 48, 39],
          [255, 255, 255],
        ]
      : [
          [26, 152, 80],
          [255, 255, 255],
        ];
  const k = Math.abs(t);
  return `rgb(${from.map((f, i) => Math.round(f + (to[i]! - f) * k)).join(',')})`;
}

/** A heat map of gains over a two-parameter grid, each cell labelled with its value; drawn on the canvas directly. */
export function heatmapChart(h: Heatmap, size?: ChartSize): Buffer {
  const width = size?.width ?? 900;
  const height = size?.height ?? Math.max(500, 190 + 46 * h.ys.length);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const font = (px: number, bold = false) => `${bold ? 'bold ' : ''}${px}px ${fontFamily ?? 'sans-serif'}`;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = font(17, true);
  ctx.fillText(h.title, width / 2, 26);
  ctx.font = font(13);
  if (h.subtitle) ctx.fillText(h.subtitle, width / 2, 50);
  // Plot area: y labels on the left, the colour scale on the right.
  ctx.font = font(12);
  const yLabelW = Math.max(...h.ys.map((y) => ctx.measureText(y).width), 10);
  const left = 40 + yLabelW + 12;
  const right = width - 110;
  const top = 72;
  const bottom = height - 70;
  const cw = (right - left) / Math.max(1, h.xs.length);
  const ch = (bottom - top) / Math.max(1, h.ys.length);
  const gains = h.cells.flat().filter((g): g is number => g !== undefined && g > 0);
  const span = Math.max(1, ...gains.map((g) => Math.abs(Math.log2(g))));
  h.ys.forEach((yLabel, yi) => {
    h.xs.forEach((_, xi) => {
      const g = h.cells[yi]?.[xi];
      const x0 = left + xi * cw;
      const y0 = top + yi * ch;
      ctx.fillStyle = g === undefined || !(g > 0) ? '#e6e6e6' : gainColour(g, span);
      ctx.fillRect(x0, y0, cw, ch);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.strokeRect(x0, y0, cw, ch);
      ctx.fillStyle = g !== undefined && Math.abs(Math.log2(g)) / span > 0.6 ? '#ffffff' : '#111';
      ctx.font = font(Math.min(14, Math.max(9, ch / 3)), true);
      ctx.fillText(g === undefined ? '—' : `${formatTick(g)}×`, x0 + cw / 2, y0 + ch / 2);
    });
    ctx.fillStyle = '#222';
    ctx.font = font(12);
    ctx.textAlign = 'right';
    ctx.fillText(yLabel, left - 8, top + (yi + 0.5) * ch);
    ctx.textAlign = 'center';
  });
  h.xs.forEach((xLabel, xi) => ctx.fillText(xLabel, left + (xi + 0.5) * cw, bottom + 14));
  ctx.font = font(13, true);
  ctx.fillText(h.xName, (left + right) / 2, bottom + 42);
  ctx.save();
  ctx.translate(18, (top + bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(h.yName, 0, 0);
  ctx.restore();
  drawGainScale(ctx, right + 30, top, bottom, span, font);
  return canvas.toBuffer('image/png');
}

/** The heat map's colour scale: a vertical bar from 2^−span to 2^span, labelled at its ends and at 1×. */
function drawGainScale(
  ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>,
  x: number,
  top: number,
  bottom: number,
  span: number,
  font: (px: number) => string,
): void {
  const steps = 64;
  const h = (bottom - top) / steps;
  for (let i = 0; i < steps; i++) {
    ctx.fillStyle = gainColour(2 ** (span * (1 - (2 * (i + 0.5)) / steps)), span);
    ctx.fillRect(x, top + i * h, 18, h + 0.5);
  }
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(x, top, 18, bottom - top);
  ctx.fillStyle = '#222';
  ctx.font = font(11);
  ctx.textAlign = 'left';
  for (const [v, y] of [
    [2 ** span, top],
    [1, (top + bottom) / 2],
    [2 ** -span, bottom],
  ] as const)
    ctx.fillText(`${formatTick(v)}×`, x + 24, y);
}

/** One parameter of a tornado chart: the gain with the parameter low and high (undefined: that side did not run). */
export interface TornadoBar {
  name: string;
  low?: number;
  high?: number;
  /** The gain crosses 1× between low, nominal and high. */
  flips: boolean;
}

/** A one-at-a-time sensitivity of one gain: bars from the nominal to each side's gain, largest swing first. */
export interface Tornado {
  title: string;
  subtitle?: string;
  /** The x axis, e.g. `energy gain of delta over dense (×)`. */
  axis: string;
  nominal: number;
  /** The legend of each side, e.g. `÷2`, `×2`. */
  lowLabel: string;
  highLabel: string;
  bars: TornadoBar[];
}

const TORNADO_LOW = '#4e79a7';
const TORNADO_HIGH = '#f28e2b';
const FLIP = '#d62728';

/** Vertical lines at the nominal (dashed) and at 1× (red: the break-even a flip crosses), labelled at the top. */
function tornadoLines(nominal: number): Plugin<'bar'> {
  return {
    id: 'tornadoLines',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales.x!;
      ctx.save();
      ctx.font = `11px ${fontFamily ?? 'sans-serif'}`;
      ctx.textAlign = 'left';
      for (const [v, colour, dash, label, y] of [
        [1, FLIP, [] as number[], '1× (break-even)', chartArea.bottom - 6],
        [nominal, '#222', [6, 4], `nominal ${formatTick(nominal)}×`, chartArea.top + 12],
      ] as const) {
        const px = x.getPixelForValue(v);
        if (px < chartArea.left - 0.5 || px > chartArea.right + 0.5) continue;
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2;
        ctx.setLineDash([...dash]);
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.fillStyle = colour;
        ctx.fillText(label, px + 4, y);
      }
      ctx.restore();
    },
  };
}

/**
 * A tornado chart: one row per parameter, a bar from the nominal gain to the gain at the parameter's low
 * value and one to its high value, the rows by swing. A parameter whose gain crosses 1× (it flips the
 * verdict) has a red outline and a red "flips" label; the 1× line is drawn in red, the nominal dashed.
 */
export function tornadoChart(t: Tornado, size?: ChartSize): Buffer {
  const values = [1, t.nominal, ...t.bars.flatMap((b) => [b.low, b.high].filter((v): v is number => v !== undefined))];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.08 || 0.05;
  const side = (k: 'low' | 'high', label: string, colour: string) => ({
    label,
    data: t.bars.map((b) => (b[k] === undefined ? null : ([t.nominal, b[k]] as [number, number]))),
    backgroundColor: withAlpha(colour, 0.8),
    borderColor: t.bars.map((b) => (b.flips ? FLIP : colour)),
    borderWidth: t.bars.map((b) => (b.flips ? 2 : 0)),
    borderSkipped: false,
    grouped: false,
    barPercentage: 0.75,
    categoryPercentage: 1,
  });
  return render(
    {
      type: 'bar',
      data: {
        labels: t.bars.map((b) => (b.flips ? `${b.name} · flips` : b.name)),
        datasets: [side('low', t.lowLabel, TORNADO_LOW), side('high', t.highLabel, TORNADO_HIGH)],
      },
      options: {
        indexAxis: 'y',
        plugins: {
          ...title(t.title, t.subtitle),
          // The legend shows each side's fill only, not the first bar's flip outline.
          legend: {
            position: 'top' as const,
            labels: {
              generateLabels: (chart: Chart) =>
                Chart.defaults.plugins.legend.labels.generateLabels(chart).map((l) => ({ ...l, lineWidth: 0 })),
            },
          },
        },
        scales: {
          x: {
            type: 'linear',
            beginAtZero: false,
            suggestedMin: lo - pad,
            suggestedMax: hi + pad,
            title: axisTitle(t.axis),
            ticks: { callback: (v: number | string) => `${formatTick(Number(v))}×` },
          },
          y: {
            ticks: {
              autoSkip: false,
              font: { size: 11 },
              color: (c: { index: number }) => (t.bars[c.index]?.flips ? FLIP : '#222'),
            },
          },
        },
      },
      plugins: [tornadoLines(t.nominal)],
    } as ChartConfiguration,
    { width: 900, height: layerChartHeight(t.bars.length, 30), ...size },
  );
}

/** One closed-loop recording on the drift–cost plane: its output drift and a cost per frame (energy or latency). */
export interface DriftCostPoint {
  drift: number;
  cost: number;
  label: string;
}

/**
 * Drift (x) against a cost per frame (y) of recordings at different thresholds, with the Pareto front
 * (no other recording has both less drift and less cost) drawn and labelled.
 */
export function driftParetoChart(
  points: DriftCostPoint[],
  what: { title: string; subtitle: string; drift: string; cost: string; unit: string; logDrift?: boolean },
  size?: ChartSize,
): Buffer {
  // paretoFront minimises two quantities; here they are drift and cost.
  const asPareto = points.map((p) => ({ latencyUs: p.drift, energyUj: p.cost, label: p.label }));
  const front = paretoFront(asPareto);
  const xy = (p: DriftCostPoint) => ({ x: p.drift, y: p.cost });
  return render(
    {
      type: 'scatter',
      data: {
        datasets: [
          { label: `recordings (${points.length})`, data: points.map(xy), backgroundColor: 'rgba(78,121,167,0.6)', pointRadius: 5 },
          {
            label: `Pareto front (${front.length})`,
            data: front.map((i) => xy(points[i]!)),
            showLine: true,
            borderColor: '#e15759',
            backgroundColor: 'rgba(0,0,0,0)',
            borderWidth: 2,
            pointRadius: 7,
            pointBorderWidth: 2,
          },
        ],
      },
      options: {
        plugins: title(what.title, what.subtitle),
        scales: {
          // A log axis where drifts span decades (a KL of 1e-3 and of 1 on one chart).
          x: what.logDrift
            ? { type: 'logarithmic', title: axisTitle(what.drift) }
            : { type: 'linear', title: axisTitle(what.drift), beginAtZero: true },
          y: valueAxis(
            points.map((p) => p.cost),
            what.cost,
            what.unit,
          ),
        },
      },
      plugins: [
        frontLabels(
          front.map((i) => asPareto[i]!),
          1,
          12,
        ),
      ],
    } as ChartConfiguration,
    size,
  );
}
