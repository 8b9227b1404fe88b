// The probes' rows (probes.ts) decoded on the host, and their file: probes/NORM-seedS.csv in a
// comparison directory, DIR/probes.csv for `normlab train`. One line per quantity:
//   step,epoch,layer,quantity,eta,value
// step is 0-based over the run (the probe ran after that step); layer is a layer or parameter name,
// or empty for the whole network; eta is empty except for the landscape's quantities. Quantities:
//   loss                    training-mode loss of the batch at the weights before the step
//   conv_mean, conv_std     the layer's convolution output (population std over every element)
//   out_mean, out_std       the block's output (after norm, ReLU and skip)
//   grad_norm               ||grad|| of a parameter; with layer '' the whole gradient's
//   update_ratio            ||w_after - w|| / ||w|| of a parameter (empty where ||w|| = 0)
//   ics_l2, ics_cos         internal covariate shift of a layer's weight: ||G - G'||, cos(G, G')
//   ics_rel                 ||G - G'|| / ||G||
//   loss_eta                L(w - eta g)
//   grad_pred               ||grad L(w - eta g) - grad L(w)||  (gradient predictiveness)
//   beta_smooth             max over eta of grad_pred / ||eta g||  (effective beta-smoothness)
//   loss_band_min, loss_band_max   the loss band's ends over eta
import { UserError } from '../engine/errors.js';
import type { ProbeLayout } from './probes.js';

export interface ProbeLayerRecord {
  name: string;
  convMean: number;
  convStd: number;
  outMean: number;
  outStd: number;
  /** Internal covariate shift of the layer's weight; null for the first layer (nothing below it). */
  ics: { l2: number; cos: number; rel: number } | null;
}

export interface ProbeRecord {
  step: number;
  epoch: number;
  loss: number;
  gradNorm: number;
  layers: ProbeLayerRecord[];
  params: { name: string; gradNorm: number; updateRatio: number | null }[];
  landscape: { eta: number; loss: number; gradPred: number }[];
  betaSmooth: number;
}

/** Decodes one row of `layout.width` floats. */
export function decodeRow(layout: ProbeLayout, row: Float32Array, step: number, epoch: number): ProbeRecord {
  const at = (s: number) => row[s]!;
  const params = layout.params.map((name, i) => {
    const s = layout.param(i);
    return { name, gradNorm: at(s), weightNorm: at(s + 1), update: at(s + 2) };
  });
  const gradNorm = Math.hypot(...params.map((p) => p.gradNorm));
  const layers = layout.layers.map((name, l): ProbeLayerRecord => {
    const t = layout.tap(l);
    let ics: ProbeLayerRecord['ics'] = null;
    if (l > 0) {
      const g = params[layout.weights[l]!]!.gradNorm;
      const l2 = at(layout.ics(l));
      const g2 = at(layout.ics(l) + 1);
      // cos from the three lengths: ||G - G'||^2 = ||G||^2 + ||G'||^2 - 2 G.G'
      const cos = g > 0 && g2 > 0 ? Math.max(-1, Math.min(1, (g * g + g2 * g2 - l2 * l2) / (2 * g * g2))) : NaN;
      ics = { l2, cos, rel: g > 0 ? l2 / g : NaN };
    }
    return { name, convMean: at(t), convStd: at(t + 1), outMean: at(t + 2), outStd: at(t + 3), ics };
  });
  const landscape = layout.etas.map((eta, k) => {
    const s = layout.eta(k);
    return { eta, loss: at(s), gradPred: Math.hypot(...layout.params.map((_, i) => at(s + 1 + i))) };
  });
  const betaSmooth = Math.max(...landscape.map((p) => p.gradPred / (p.eta * gradNorm)));
  return {
    step,
    epoch,
    loss: at(layout.loss),
    gradNorm,
    layers,
    params: params.map((p) => ({ name: p.name, gradNorm: p.gradNorm, updateRatio: p.weightNorm > 0 ? p.update / p.weightNorm : null })),
    landscape,
    betaSmooth,
  };
}

export const PROBE_CSV_HEADER = 'step,epoch,layer,quantity,eta,value';

const num = (v: number) => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');

/** The record's lines (no header). */
export function probeCsvLines(r: ProbeRecord): string[] {
  const out: string[] = [];
  const line = (layer: string, q: string, v: number | null, eta = '') => out.push(`${r.step},${r.epoch},${layer},${q},${eta},${v === null ? '' : num(v)}`);
  line('', 'loss', r.loss);
  line('', 'grad_norm', r.gradNorm);
  for (const l of r.layers) {
    line(l.name, 'conv_mean', l.convMean);
    line(l.name, 'conv_std', l.convStd);
    line(l.name, 'out_mean', l.outMean);
    line(l.name, 'out_std', l.outStd);
    if (l.ics) {
      line(l.name, 'ics_l2', l.ics.l2);
      line(l.name, 'ics_cos', l.ics.cos);
      line(l.name, 'ics_rel', l.ics.rel);
    }
  }
  for (const p of r.params) {
    line(p.name, 'grad_norm', p.gradNorm);
    line(p.name, 'update_ratio', p.updateRatio);
  }
  for (const p of r.landscape) {
    line('', 'loss_eta', p.loss, num(p.eta));
    line('', 'grad_pred', p.gradPred, num(p.eta));
  }
  const losses = r.landscape.map((p) => p.loss);
  line('', 'loss_band_min', Math.min(...losses));
  line('', 'loss_band_max', Math.max(...losses));
  line('', 'beta_smooth', r.betaSmooth);
  return out;
}

export function probeCsv(records: readonly ProbeRecord[]): string {
  return `${[PROBE_CSV_HEADER, ...records.flatMap(probeCsvLines)].join('\n')}\n`;
}

/** One probe step as read back from a CSV: quantity -> layer -> value (eta-indexed ones under `landscape`). */
export interface ProbeStep {
  step: number;
  epoch: number;
  values: Map<string, Map<string, number>>;
  landscape: { eta: number; loss: number; gradPred: number }[];
}

const parseNum = (s: string) => (s === '' ? NaN : s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s));

/**
 * Parses a probes CSV (`path` names it in errors; src/compare/probe-files.ts reads it from disk).
 * A step written twice (a run resumed from a checkpoint before it) keeps its last values. Throws a
 * UserError naming the file and line on anything malformed.
 */
export function parseProbeCsv(text: string, path: string): ProbeStep[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines[0] !== PROBE_CSV_HEADER) throw new UserError(`${path}:1: not a probes file (expected the header '${PROBE_CSV_HEADER}')`);
  const steps = new Map<number, ProbeStep>();
  let lastStep = -1;
  lines.slice(1).forEach((line, i) => {
    const f = line.split(',');
    const step = Number(f[0]);
    if (f.length !== 6 || !Number.isInteger(step) || step < 0) throw new UserError(`${path}:${i + 2}: expected step,epoch,layer,quantity,eta,value, got '${line}'`);
    // A line whose step is not the one before starts that step afresh (its earlier lines were an interrupted try).
    if (step !== lastStep) steps.set(step, { step, epoch: Number(f[1]), values: new Map(), landscape: [] });
    lastStep = step;
    const s = steps.get(step)!;
    const [layer, q, eta, v] = [f[2]!, f[3]!, f[4]!, parseNum(f[5]!)];
    if (eta !== '') {
      const e = parseNum(eta);
      let p = s.landscape.find((x) => x.eta === e);
      if (!p) s.landscape.push((p = { eta: e, loss: NaN, gradPred: NaN }));
      if (q === 'loss_eta') p.loss = v;
      else if (q === 'grad_pred') p.gradPred = v;
      return;
    }
    let m = s.values.get(q);
    if (!m) s.values.set(q, (m = new Map()));
    m.set(layer, v);
  });
  return [...steps.values()].sort((a, b) => a.step - b.step);
}
