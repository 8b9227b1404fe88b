// The comparison report's "Inside the network" section, from the runs' probe files
// (src/train/probe-records.ts): per-layer curves over training for each norm (block output std,
// the convolution weight's gradient norm, internal covariate shift as l2 distance and cosine), the
// landscape along the gradient over training for every norm (Santurkar et al. 2018, Fig. 4: the
// loss band, gradient predictiveness, effective beta-smoothness), the probes' share of the training
// time, and a reading of each normalised network against the one without (paired by seed and step).
import { pairedDifference, type Interval } from '../stats/stats.js';
import type { ProbeStep } from '../train/probe-records.js';
import { drawLineChart, NORM_COLORS, CHART_COLORS, type Series } from './plots.js';
import { Raster, fitText, measureText, type Rgb } from './raster.js';
import { mdTable, mdTableToHtml, type Block } from './render.js';
import type { Namer } from './verdicts.js';
import { mean } from './reading.js';
import type { NormName } from './types.js';

export interface ProbeRun {
  norm: NormName;
  seed: number;
  steps: ProbeStep[];
  cost: { every: number; steps: number; seconds: number; trainingSeconds: number };
}

/** A sequential palette (shallow layers light, deep layers dark). */
const DEPTH: readonly Rgb[] = [[253, 231, 37], [181, 222, 43], [110, 206, 88], [53, 183, 121], [31, 158, 137], [38, 130, 142], [49, 104, 142], [62, 74, 137], [72, 40, 120], [68, 1, 84]];
const depthColor = (i: number, n: number): Rgb => DEPTH[Math.round((i * (DEPTH.length - 1)) / Math.max(1, n - 1))]!;

const value = (s: ProbeStep, q: string, layer = ''): number => s.values.get(q)?.get(layer) ?? NaN;

/** The layers probed, in order, from the first step of any run. */
function layersOf(runs: readonly ProbeRun[]): string[] {
  const first = runs.find((r) => r.steps.length)?.steps[0];
  return first ? [...(first.values.get('out_std')?.keys() ?? [])] : [];
}

/** The mean over seeds of f at each probe step, for one norm. */
function seedMean(runs: readonly ProbeRun[], f: (s: ProbeStep) => number): [number, number][] {
  const bySteps = new Map<number, number[]>();
  for (const r of runs) for (const s of r.steps) bySteps.set(s.step, [...(bySteps.get(s.step) ?? []), f(s)]);
  return [...bySteps.entries()].sort((a, b) => a[0] - b[0]).map(([step, vs]) => [step, vs.reduce((a, b) => a + b, 0) / vs.length]);
}

const PER_LAYER = [
  { q: 'out_std', title: 'output std', y: 'std of the block output', weight: false },
  { q: 'grad_norm', title: '||grad W||', y: "||grad|| of the conv weight", weight: true },
  { q: 'ics_l2', title: "ICS ||G - G'||", y: "||G - G'||", weight: false },
  { q: 'ics_cos', title: "ICS cos(G, G')", y: "cos(G, G')", weight: false },
] as const;

/** The layer's weight parameter name as the probes file names it. */
const weightName = (layer: string) => (layer.startsWith('b') ? `${layer}.conv.weight` : `${layer}.weight`);

/** One row per quantity, one column per norm; a line per layer, coloured by depth. */
export function probeLayersPng(runs: readonly ProbeRun[], norms: readonly NormName[], name: Namer): Buffer {
  const layers = layersOf(runs);
  const W = 380;
  const H = 250;
  const head = 34;
  const r = new Raster(W * norms.length, head + H * PER_LAYER.length);
  const title = 'Per layer over training (mean over seeds; light: first layer, dark: last)';
  const scale = measureText(title, 2).width <= r.width - 10 ? 2 : 1;
  r.text(fitText(title, r.width - 10, scale), r.width / 2, 10, CHART_COLORS.text, { scale, align: 'center', bold: true });
  PER_LAYER.forEach((p, row) => {
    norms.forEach((norm, col) => {
      const mine = runs.filter((x) => x.norm === norm);
      const series: Series[] = layers.map((layer, i) => ({
        name: layer,
        color: depthColor(i, layers.length),
        points: seedMean(mine, (s) => value(s, p.q, p.weight ? weightName(layer) : layer)),
        width: 1.5,
        marker: 'none',
      }));
      drawLineChart(r, { x: col * W, y: head + row * H, w: W, h: H }, {
        title: `${name(norm)}: ${p.title}`,
        xLabel: 'step',
        yLabel: p.y,
        series,
        legend: row === 0 && col === 0 ? undefined : [],
      });
    });
  });
  return r.toPng();
}

const LANDSCAPE = [
  { title: 'Loss landscape: L(w - eta g)', y: 'loss', band: (s: ProbeStep) => s.landscape.map((p) => p.loss), line: (s: ProbeStep) => value(s, 'loss') },
  { title: 'Gradient predictiveness', y: "||grad L(w - eta g) - grad L(w)||", band: (s: ProbeStep) => s.landscape.map((p) => p.gradPred), line: (s: ProbeStep) => Math.max(...s.landscape.map((p) => p.gradPred)) },
  { title: 'Effective beta-smoothness', y: "max over eta of the above / ||eta g||", band: null, line: (s: ProbeStep) => value(s, 'beta_smooth') },
] as const;

/** Santurkar et al.'s Fig. 4 for SeedNet: three panels over training, one colour per norm. */
export function probeLandscapePng(runs: readonly ProbeRun[], norms: readonly NormName[], name: Namer, etas: string): Buffer {
  const W = 440;
  const H = 330;
  const r = new Raster(W * LANDSCAPE.length, 34 + H);
  r.text(`Along the gradient, over training (eta ${etas}; bands: the range over eta; mean over seeds)`, r.width / 2, 10, CHART_COLORS.text, { scale: 2, align: 'center', bold: true });
  LANDSCAPE.forEach((p, i) => {
    const series: Series[] = norms.map((norm) => {
      const mine = runs.filter((x) => x.norm === norm);
      const lo = seedMean(mine, (s) => (p.band ? Math.min(...p.band(s)) : NaN));
      const hi = seedMean(mine, (s) => (p.band ? Math.max(...p.band(s)) : NaN));
      return {
        name: name(norm),
        color: NORM_COLORS[norm],
        points: seedMean(mine, p.line),
        band: p.band ? lo.map(([x, l], k) => [x, l, hi[k]![1]] as const).filter(([, l, h]) => Number.isFinite(l) && Number.isFinite(h)) : undefined,
        marker: 'none',
      };
    });
    drawLineChart(r, { x: i * W, y: 34, w: W, h: H }, { title: p.title, xLabel: 'step', yLabel: p.y, series });
  });
  return r.toPng();
}

/** The measures the reading compares, each a number per probe step. */
export const PROBE_MEASURES: readonly { key: string; short: string; of: (s: ProbeStep, layers: string[]) => number }[] = [
  { key: 'ics_l2', short: 'internal covariate shift', of: (s, ls) => mean(ls.map((l) => value(s, 'ics_l2', l))) },
  { key: 'ics_cos', short: "cos(G, G')", of: (s, ls) => mean(ls.map((l) => value(s, 'ics_cos', l))) },
  { key: 'loss_band', short: 'loss band width', of: (s) => value(s, 'loss_band_max') - value(s, 'loss_band_min') },
  { key: 'grad_pred', short: 'gradient change along the step (predictiveness)', of: (s) => Math.max(...s.landscape.map((p) => p.gradPred)) },
  { key: 'beta_smooth', short: 'effective beta-smoothness', of: (s) => value(s, 'beta_smooth') },
];

export interface ProbeContrast {
  /** a minus b, paired over (seed, probe step). */
  a: NormName;
  b: NormName;
  measure: (typeof PROBE_MEASURES)[number];
  pairs: number;
  meanA: number;
  meanB: number;
  diff: number;
  ci95: Interval | null;
  side: -1 | 0 | 1;
}

/** The pairs the report holds against each other: batch norm against every other norm, or (no batch norm) each norm against none. */
export function contrastPairs(norms: readonly NormName[]): [NormName, NormName][] {
  // no norm first: the contrast the seed's claim is about.
  const others = [...norms].sort((x, y) => Number(y === 'none') - Number(x === 'none'));
  if (norms.includes('batch')) return others.filter((n) => n !== 'batch').map((n) => ['batch', n]);
  return norms.includes('none') ? others.filter((n) => n !== 'none').map((n) => [n, 'none']) : [];
}

/** Every measure for every pair, paired by seed and probe step (the same batch at the same step). */
export function probeContrasts(runs: readonly ProbeRun[]): ProbeContrast[] {
  const layers = layersOf(runs).slice(1); // the first layer has no ICS
  const norms = [...new Set(runs.map((r) => r.norm))];
  const out: ProbeContrast[] = [];
  for (const [na, nb] of contrastPairs(norms)) {
    for (const m of PROBE_MEASURES) {
      const a: number[] = [];
      const b: number[] = [];
      for (const r of runs.filter((x) => x.norm === na)) {
        const o = runs.find((x) => x.norm === nb && x.seed === r.seed);
        if (!o) continue;
        for (const s of r.steps) {
          const t = o.steps.find((x) => x.step === s.step);
          const [va, vb] = [m.of(s, layers), t ? m.of(t, layers) : NaN];
          if (Number.isFinite(va) && Number.isFinite(vb)) {
            a.push(va);
            b.push(vb);
          }
        }
      }
      if (a.length < 2) continue;
      const d = pairedDifference(a, b);
      const side = d.ci95 ? (d.ci95[0] > 0 ? 1 : d.ci95[1] < 0 ? -1 : 0) : 0;
      out.push({ a: na, b: nb, measure: m, pairs: a.length, meanA: mean(a), meanB: mean(b), diff: d.mean, ci95: d.ci95, side });
    }
  }
  return out;
}

const g3 = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : '-');
const ciText = (c: ProbeContrast) => `${g3(c.meanA)} against ${g3(c.meanB)}, difference ${g3(c.diff)}, 95% CI [${g3(c.ci95?.[0] ?? NaN)}, ${g3(c.ci95?.[1] ?? NaN)}]`;

/** A network whose probed loss did not fall from its first probe step to its last (mean over seeds). */
function stalled(runs: readonly ProbeRun[], norm: NormName): { first: number; last: number } | null {
  const curve = seedMean(runs.filter((r) => r.norm === norm), (s) => value(s, 'loss'));
  if (curve.length < 2) return null;
  const first = curve[0]![1];
  const last = curve.at(-1)![1];
  return last > 0.95 * first ? { first, last } : null;
}

/** "In this run batch norm's internal covariate shift is higher than no normalisation's: ..." per pair, and what to make of a network that did not learn. */
export function probeReading(runs: readonly ProbeRun[], name: Namer): string[] {
  const cs = probeContrasts(runs);
  const norms = [...new Set(runs.map((r) => r.norm))];
  if (!cs.length) {
    return [norms.length < 2 ? `Only ${name(norms[0]!)} was probed: there is nothing to hold it against.` : 'No batch norm and no network without normalisation (--norms none) were probed together: no contrast is drawn.'];
  }
  const lines: string[] = [];
  const against = (n: NormName) => (n === 'none' ? 'no normalisation' : name(n));
  for (const [a, b] of contrastPairs(norms)) {
    const of = (key: string) => cs.find((c) => c.a === a && c.b === b && c.measure.key === key);
    const l2 = of('ics_l2');
    const cos = of('ics_cos');
    if (!l2) continue;
    const word = l2.side < 0 ? 'lower than' : l2.side > 0 ? 'higher than' : 'not different beyond the interval from';
    const land = ['loss_band', 'grad_pred', 'beta_smooth'].map(of).filter((c): c is ProbeContrast => c !== undefined);
    const dir = (c: ProbeContrast) => (c.side < 0 ? 'smaller' : c.side > 0 ? 'larger' : 'not different beyond the interval');
    lines.push(
      `In this run ${name(a)}'s internal covariate shift is ${word} ${against(b)}'s: ||G - G'|| ${ciText(l2)}` +
        (cos ? `; cos(G, G') ${ciText(cos)}` : '') +
        `. Along the gradient, ${name(a)}'s ${land.map((c) => `${c.measure.short} is ${dir(c)} (${ciText(c)})`).join('; ')}; over ${l2.pairs} (seed, step) pairs.`,
    );
  }
  for (const n of norms) {
    const st = stalled(runs, n);
    if (st) {
      lines.push(
        `${n === 'none' ? 'The network without normalisation' : name(n)} did not learn: its loss at the probe steps went from ${g3(st.first)} to ${g3(st.last)}. ` +
          'On a plateau every measure along the gradient is small because the gradient is; a contrast with it says that it did not learn, not that its landscape is smoother where learning happens.',
      );
    }
  }
  lines.push(
    'The intervals are paired t intervals over probe steps (the same batch at the same step for both networks); successive steps of one run are not independent, so they are narrower than intervals over seeds would be. ' +
      "The l2 distances and the landscape's measures scale with the gradient, which differs between the networks; the cosine does not.",
  );
  return lines;
}

/** The section's blocks and images (none when no run was probed). */
export function probeSection(runs: readonly ProbeRun[], norms: readonly NormName[], name: Namer): { blocks: Block[]; images: Map<string, Buffer> } {
  const probed = runs.filter((r) => r.steps.length);
  if (!probed.length) return { blocks: [], images: new Map() };
  const present = norms.filter((n) => probed.some((r) => r.norm === n));
  const etas = probed[0]!.steps[0]!.landscape.map((p) => p.eta);
  const etaText = etas.length ? `${g3(Math.min(...etas))} to ${g3(Math.max(...etas))}, ${etas.length} values` : '';
  const images = new Map<string, Buffer>([
    ['probes-layers.png', probeLayersPng(probed, present, name)],
    ['probes-landscape.png', probeLandscapePng(probed, present, name, etaText)],
  ]);
  const cs = probeContrasts(probed);
  const table = mdTable(
    ['a', 'b', 'measure', 'a', 'b', 'a - b [95% CI]', 'pairs'],
    cs.map((c) => [name(c.a), name(c.b), c.measure.key, g3(c.meanA), g3(c.meanB), `${g3(c.diff)} [${g3(c.ci95?.[0] ?? NaN)}, ${g3(c.ci95?.[1] ?? NaN)}]`, String(c.pairs)]),
  );
  const cost = probed.map((r) => `${name(r.norm)} seed ${r.seed}: every ${r.cost.every} steps, ${r.cost.steps} probe steps, ${g3(r.cost.seconds)} s of ${g3(r.cost.trainingSeconds)} s of training (${((100 * r.cost.seconds) / r.cost.trainingSeconds).toFixed(0)}%)`);
  const blocks: Block[] = [
    { kind: 'h2', text: 'Inside the network (probes)' },
    { kind: 'p', text: 'Measured every N steps on the step\'s batch, at the weights before the step, on copies (training is unchanged). Definitions: docs/normalization-backprop.md, "What the probes measure"; the file format: README, "Inside the network".' },
    { kind: 'ul', items: probeReading(probed, name) },
    { kind: 'img', file: 'probes-layers.png', alt: 'per layer: block output std, gradient norm and internal covariate shift over training, per norm' },
    { kind: 'img', file: 'probes-landscape.png', alt: 'loss band, gradient predictiveness and beta-smoothness over training per norm' },
    ...(cs.length ? [{ kind: 'raw' as const, md: table, html: mdTableToHtml(table) }] : []),
    { kind: 'p', text: "The probes' share of the training time (each probe phase timed between two drains of the GPU queue):" },
    { kind: 'ul', items: cost },
  ];
  return { blocks, images };
}
