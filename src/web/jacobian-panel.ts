// The explainer page's Jacobian panel: the norm's full 32 x 32 dy/dx from the backward kernels
// (normJacobian, as `normlab explain --jacobian`), drawn as a heat map ordered by (n, c, h, w) with
// each reduction set's blocks outlined; per set, the two invariants of the closed form. Clicking a
// row of the map (or naming an output in the list) shows the inputs that output depends on.
import type { Engine } from '../engine/engine.js';
import type { NormKind } from '../engine/ops/norm.js';
import { elementName } from '../explain/explain.js';
import { normJacobian, type JacobianResult } from '../explain/jacobian.js';
import { byId, el, status } from './page.js';

const NS = 'http://www.w3.org/2000/svg';
const CELL = 14;
const MARGIN = 34;

/** Blue for negative, red for positive, white for exactly 0; |v| / max sets the depth. */
function colour(v: number, max: number): string {
  if (v === 0) return '#ffffff';
  const t = Math.min(1, Math.abs(v) / max) ** 0.6;
  const other = Math.round(255 * (1 - 0.85 * t));
  return v > 0 ? `rgb(255,${other},${other})` : `rgb(${other},${other},255)`;
}

/** Consecutive runs [start, end) of a sorted index list. */
function runs(indices: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

function heatMap(r: JacobianResult, inks: readonly string[], onPick: (o: number) => void): SVGSVGElement {
  const size = Math.sqrt(r.jacobian.length);
  const per = size / r.shape[0];
  const max = Math.max(...r.jacobian.map(Math.abs));
  const svg = document.createElementNS(NS, 'svg');
  const side = MARGIN + size * CELL + 4;
  svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
  svg.setAttribute('class', 'jacobian-map');
  svg.setAttribute('width', String(side));
  const add = (tag: string, attrs: Record<string, string | number>, parent: Element = svg): SVGElement => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    parent.append(e);
    return e;
  };
  for (let o = 0; o < size; o++) {
    const row = add('g', { 'data-row': o, class: 'jrow' });
    row.addEventListener('click', () => onPick(o));
    for (let i = 0; i < size; i++) {
      const v = r.jacobian[o * size + i]!;
      const cell = add('rect', { x: MARGIN + i * CELL, y: MARGIN + o * CELL, width: CELL, height: CELL, fill: colour(v, max) }, row);
      const title = document.createElementNS(NS, 'title');
      title.textContent = `dy[${elementName(o, r.shape)}] / dx[${elementName(i, r.shape)}] = ${v.toFixed(4)}`;
      cell.append(title);
    }
  }
  // Each set's blocks: rows and columns of the same set (batch norm's sets are channels, so each is
  // split into one run per sample: a set's block is then N x N pieces).
  r.sets.forEach((set, k) => {
    for (const [r0, r1] of runs(set)) {
      for (const [c0, c1] of runs(set)) {
        add('rect', { x: MARGIN + c0 * CELL, y: MARGIN + r0 * CELL, width: (c1 - c0) * CELL, height: (r1 - r0) * CELL, fill: 'none', stroke: inks[k % inks.length]!, 'stroke-width': 2, 'pointer-events': 'none', class: 'set-outline' });
      }
    }
  });
  // The samples: the map's N x N blocks.
  for (let s = 1; s < r.shape[0]; s++) {
    const at = MARGIN + s * per * CELL;
    add('line', { x1: MARGIN, y1: at, x2: MARGIN + size * CELL, y2: at, stroke: '#222', 'stroke-width': 1, 'stroke-dasharray': '3 2', 'pointer-events': 'none' });
    add('line', { x1: at, y1: MARGIN, x2: at, y2: MARGIN + size * CELL, stroke: '#222', 'stroke-width': 1, 'stroke-dasharray': '3 2', 'pointer-events': 'none' });
  }
  const label = (x: number, y: number, text: string, rotate = false) => {
    const t = add('text', { x, y, 'font-size': 11, 'text-anchor': 'middle', fill: '#333', ...(rotate ? { transform: `rotate(-90 ${x} ${y})` } : {}) });
    t.textContent = text;
  };
  for (let s = 0; s < r.shape[0]; s++) {
    label(MARGIN + (s + 0.5) * per * CELL, MARGIN - 8, `inputs x of n${s}`);
    label(MARGIN - 10, MARGIN + (s + 0.5) * per * CELL, `outputs y of n${s}`, true);
  }
  return svg;
}

/** Renders the panel for a norm; returns the result (also in window.normlab.jacobian). */
export async function showJacobian(engine: Engine, norm: NormKind, seed: number, inks: readonly string[]): Promise<JacobianResult> {
  const r = await normJacobian(engine, norm, { seed });
  status.jacobian = r;
  const size = Math.sqrt(r.jacobian.length);
  const picked = byId('jacobian-picked');
  const select = byId<HTMLSelectElement>('jacobian-output');
  const setOf = new Map<number, number>();
  r.sets.forEach((s, k) => s.forEach((i) => setOf.set(i, k)));
  const pick = (o: number): void => {
    select.value = String(o);
    document.querySelectorAll('.jrow.picked').forEach((e) => e.classList.remove('picked'));
    document.querySelector(`.jrow[data-row="${o}"]`)?.classList.add('picked');
    const deps = Array.from({ length: size }, (_, i) => i).filter((i) => r.jacobian[o * size + i] !== 0);
    const sets = new Set(deps.map((i) => r.setNames[setOf.get(i)!]));
    picked.replaceChildren(
      el('p', {}, `y[${elementName(o, r.shape)}] depends on ${deps.length} of the ${size} inputs, all in set ${[...sets].join(', ')}${r.crossSample > 0 && norm === 'batch' ? ' (both samples: batch norm couples them)' : ` (sample n${Math.floor(o / (size / r.shape[0]))} only)`}:`),
      el('p', { class: 'deps' }, deps.map((i) => `x[${elementName(i, r.shape)}] ${r.jacobian[o * size + i]!.toFixed(3)}`).join(' · ')),
    );
    status.jacobianPicked = { output: o, inputs: deps };
  };
  select.replaceChildren(...Array.from({ length: size }, (_, o) => el('option', { value: String(o) }, `y[${elementName(o, r.shape)}]`)));
  select.onchange = () => pick(Number(select.value));
  byId('jacobian-map').replaceChildren(heatMap(r, inks, pick));
  const inv = r.invariants;
  const table = el('table', { class: 'per-set', id: 'jacobian-invariants' });
  const head = el('tr');
  head.append(el('th', {}, 'set'), el('th', {}, 'max |Σ dx|'), el('th', {}, 'max |Σ dx · x̂ − e|'));
  table.append(head);
  r.setNames.forEach((name, k) => {
    const tr = el('tr');
    const th = el('th', {}, name);
    th.style.color = inks[k % inks.length]!;
    tr.append(th, el('td', {}, inv.perSet[k]!.sumDx.toExponential(1)), el('td', {}, inv.perSet[k]!.sumDxXhat.toExponential(1)));
    table.append(tr);
  });
  byId('jacobian-facts').replaceChildren(
    el('p', {}, `From the backward kernels, one one-hot dy per output: max |J − J_float64| = ${r.maxAbsError.toExponential(1)}. Across samples (the off-diagonal blocks) max |J| = ${r.crossSample.toExponential(1)}: ${r.crossSample > 0 ? 'batch norm couples the samples of a batch.' : "no output depends on another sample's input."}`),
    el('p', { class: 'muted' }, `The invariants of the closed form, per set, for ${inv.trials} random dy (float32; e is what ε leaves of the second, at most ${inv.epsTerm.toExponential(1)}): ${inv.pass ? 'both 0 within' : 'NOT both 0 within'} ${inv.tolerance}.`),
    table,
  );
  pick(0);
  return r;
}
