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
const colourOf = (name: string, i: number) => MODE_COLOURS[name] ?? PALETTE[i % PALETTE.length]!;

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

/** Spatial and temporal sparsity of one layer, each a fraction in [0, 1]. */
export interface LayerSparsity {
  layer: string;
  spatial: number;
  temporal: number;
}

/** Grouped bars per layer: spatial sparsity (zero activations) beside temporal (zero deltas), in %. */
export function sparsityChart(layers: LayerSparsity[], size?: ChartSize): Buffer {
  const pct = (v: number) => 100 * v;
  // Many layers get a wider canvas so that every layer name stays readable.
  size = { width: Math.max(900, 120 + 40 * layers.length), ...size };
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
        plugins: title('Activation sparsity per layer', 'mean over frames'),
        scales: {
          x: { title: axisTitle('layer'), ticks: { autoSkip: false, maxRotation: 60 } },
          y: { title: axisTitle('sparsity (%)'), min: 0, max: 100 },
        },
      },
    },
    size,
  );
}

/** One mode's latency per frame (index = frame number). */
export interface FrameSeries {
  mode: string;
  values: number[];
}

/** Lines of per-frame latency, one per mode. `unit` names what the values are (default µs). */
export function frameLatencyChart(series: FrameSeries[], unit = 'µs', size?: ChartSize): Buffer {
  const frames = Math.max(0, ...series.map((s) => s.values.length));
  return render(
    {
      type: 'line',
      data: {
        labels: Array.from({ length: frames }, (_, i) => String(i)),
        datasets: series.map((s, i) => ({
          label: s.mode,
          data: s.values,
          borderColor: colourOf(s.mode, i),
          backgroundColor: colourOf(s.mode, i),
          borderWidth: 2,
          pointRadius: frames > 60 ? 0 : 2.5,
          tension: 0,
        })),
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

/** Stacked bars, one per mode (or configuration: name the x axis), one stack segment per energy component (µJ per frame). */
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
        plugins: title('Energy per frame by component', 'mean over frames'),
        scales: {
          x: { stacked: true, title: axisTitle(xTitle) },
          y: { stacked: true, title: axisTitle('energy per frame (µJ)'), beginAtZero: true },
        },
      },
    },
    size,
  );
}

/** A swept parameter and, per value, the gains over dense there. */
export interface SweepSeries {
  /** Parameter name, e.g. `peArray.rows`. */
  parameter: string;
  /** Unit of the parameter for the axis label, e.g. `PEs`, `KiB`, `GB/s`. */
  unit?: string;
  /** Draw x on a log2 axis (powers of two); chosen automatically when omitted. */
  log2?: boolean;
  /** One or more lines: name → points (x = parameter value, y = gain ×). */
  lines: { name: string; points: { x: number; y: number }[] }[];
  /** Note under the title, e.g. how other parameters were aggregated. */
  note?: string;
}

/** Log2 suits parameters that span a wide range of positive values (PE counts, SRAM sizes). */
export function wantsLog2(xs: number[]): boolean {
  const pos = xs.filter((x) => x > 0);
  return pos.length === xs.length && pos.length > 1 && Math.max(...pos) / Math.min(...pos) >= 8;
}

const formatTick = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString());

/** Gain (×, e.g. speedup and energy gain over dense) against one swept parameter. */
export function sweepChart(s: SweepSeries, size?: ChartSize): Buffer {
  const xs = s.lines.flatMap((l) => l.points.map((p) => p.x));
  const log2 = s.log2 ?? wantsLog2(xs);
  // A log2 axis is a linear axis over log2(x) whose ticks are labelled with x itself.
  const toX = (x: number) => (log2 ? Math.log2(x) : x);
  const unit = s.unit ? ` (${s.unit}${log2 ? ', log2 scale' : ''})` : log2 ? ' (log2 scale)' : '';
  return render(
    {
      type: 'line',
      data: {
        datasets: s.lines.map((l, i) => ({
          label: l.name,
          data: [...l.points].sort((a, b) => a.x - b.x).map((p) => ({ x: toX(p.x), y: p.y })),
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length],
          borderWidth: 2,
          pointRadius: 4,
        })),
      },
      options: {
        plugins: title(`Gain over dense vs ${s.parameter}`, s.note),
        scales: {
          x: {
            type: 'linear',
            title: axisTitle(`${s.parameter}${unit}`),
            ticks: log2 ? { stepSize: 1, callback: (v) => formatTick(2 ** Number(v)) } : { callback: (v) => formatTick(Number(v)) },
          },
          y: {
            title: axisTitle('gain over dense (×)'),
            beginAtZero: true,
            // A darker grid line at 1× separates gains from losses.
            grid: { color: (c) => (c.tick?.value === 1 ? '#666' : 'rgba(0,0,0,0.1)') },
          },
        },
      },
    },
    size,
  );
}

/** One design point: its latency and energy per frame and a short label. */
export interface ParetoPoint {
  latencyUs: number;
  energyUj: number;
  label: string;
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

/** Scatter of all design points with the latency–energy Pareto front drawn and labelled. */
export function paretoChart(points: ParetoPoint[], size?: ChartSize, maxLabels = 12): Buffer {
  const front = paretoFront(points);
  const frontPts = front.map((i) => points[i]!);
  // Label front points left to right, skipping any label that would overlap one already drawn.
  const labels: Plugin<'scatter'> = {
    id: 'frontLabels',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const drawn: { x0: number; x1: number; y0: number; y1: number }[] = [];
      ctx.save();
      ctx.font = `11px ${fontFamily ?? 'sans-serif'}`;
      ctx.fillStyle = '#333';
      chart.getDatasetMeta(1).data.forEach((el, k) => {
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
  return render(
    {
      type: 'scatter',
      data: {
        datasets: [
          {
            label: `design points (${points.length})`,
            data: points.map((p) => ({ x: p.latencyUs, y: p.energyUj })),
            backgroundColor: 'rgba(78,121,167,0.45)',
            pointRadius: 3.5,
          },
          {
            label: `Pareto front (${front.length})`,
            data: frontPts.map((p) => ({ x: p.latencyUs, y: p.energyUj })),
            showLine: true,
            borderColor: '#e15759',
            backgroundColor: '#e15759',
            borderWidth: 2,
            pointRadius: 5,
          },
        ],
      },
      options: {
        plugins: title('Latency–energy trade-off', 'lower-left is better; front = points no other point beats on both'),
        scales: {
          x: { title: axisTitle('latency per frame (µs)'), beginAtZero: true },
          y: { title: axisTitle('energy per frame (µJ)'), beginAtZero: true },
        },
      },
      plugins: [labels],
    } as ChartConfiguration,
    size,
  );
}
