// The explainer page (web/explain.html): BatchNorm, GroupNorm and LayerNorm on a tiny
// N x C x H x W = 2 x 4 x 2 x 2 tensor, computed by the real WGSL kernels (explainNorm, the same
// function as `normlab explain`), shown in the order the maths flows, each term with the kernel
// line that computes it, and dx checked against central differences through the forward kernels.
import type { Engine } from '../engine/engine.js';
import type { NormKind } from '../engine/ops/norm.js';

const EXPLAINED: readonly NormKind[] = ['batch', 'group', 'layer', 'instance'];
import { explainNorm, type ExplainResult } from '../explain/explain.js';
import normWgsl from '../shaders/norm.wgsl';
import { byId, el, runPage, setState, showError, startEngine, status } from './page.js';
import { showJacobian } from './jacobian-panel.js';
import { showExercise } from './exercise-panel.js';

const DOC = '/docs/normalization-backprop.md';
/** One colour per reduction set (at most 4 sets here). */
const SET_COLORS = ['#cfe3f7', '#fde2c4', '#d4f0d0', '#f3d1e6'];
const SET_INK = ['#1f77b4', '#d46b08', '#2ca02c', '#b0318c'];

const NORM_TEXT: Record<NormKind, { title: string; set: string; note: string }> = {
  batch: {
    title: 'Batch norm',
    set: 'one set per channel c, over every sample and pixel: (N, H, W)',
    note: 'Training mode: the batch statistics normalise, and the running mean and unbiased running variance move 10% of the way towards them.',
  },
  group: {
    title: 'Group norm',
    set: 'one set per sample n and group of C/G channels: (C/G, H, W)',
    note: 'Each sample is normalised on its own, so the result does not depend on the batch, in training and evaluation alike.',
  },
  layer: {
    title: 'Layer norm',
    set: 'one set per sample n, over all its channels and pixels: (C, H, W)',
    note: 'Group norm with one group: the same kernels with G = 1.',
  },
  instance: {
    title: 'Instance norm',
    set: 'one set per sample n and channel c, over its pixels: (H, W)',
    note: 'Group norm with one channel per group: the same kernels with G = C.',
  },
};

const fmt = (v: number, digits = 3): string => {
  const s = Math.abs(v) < 0.5 * 10 ** -digits ? (0).toFixed(digits) : v.toFixed(digits);
  return s;
};

/** The set an element (n, c) belongs to, from the sets' plane lists. */
function setOf(r: ExplainResult, n: number, c: number): number {
  return r.sets.findIndex((s) => s.planes.some(([pn, pc]) => pn === n && pc === c));
}

/** The line of norm.wgsl that `where` ('src/shaders/norm.wgsl:LINE') points at, linked to the file. */
function kernelLine(where: string): HTMLElement {
  const p = el('p', { class: 'kernel-line' });
  const line = Number(where.split(':').pop());
  const a = el('a', { href: '/src/shaders/norm.wgsl', title: 'the kernel source, as the bundle imports it' }, where.replace('src/shaders/', ''));
  p.append(a, ' ', el('code', {}, normWgsl.split('\n')[line - 1]!.trim()));
  return p;
}

function section(title: string, maths: string, ...where: (string | undefined)[]): HTMLElement {
  const s = el('section', { class: 'term' });
  s.append(el('h3', {}, title), el('p', { class: 'maths' }, maths), ...where.filter((w): w is string => !!w).map(kernelLine));
  byId('terms').append(s);
  return s;
}

/** An N x C x H x W tensor as a grid: a row per sample, a 2x2 block per channel, tinted by set. */
function tensorGrid(r: ExplainResult, values: number[], name: string): HTMLTableElement {
  const [N, C, H, W] = r.shape;
  const t = el('table', { class: 'tensor', 'data-name': name });
  const head = el('tr');
  head.append(el('th'));
  for (let c = 0; c < C; c++) head.append(el('th', {}, `c${c}`));
  t.append(head);
  for (let n = 0; n < N; n++) {
    const row = el('tr');
    row.append(el('th', {}, `n${n}`));
    for (let c = 0; c < C; c++) {
      const cell = el('td');
      const set = setOf(r, n, c);
      cell.style.background = SET_COLORS[set % SET_COLORS.length]!;
      cell.title = `set ${r.sets[set]?.name}`;
      const block = el('table', { class: 'plane' });
      for (let h = 0; h < H; h++) {
        const pr = el('tr');
        for (let w = 0; w < W; w++) pr.append(el('td', {}, fmt(values[((n * C + c) * H + h) * W + w]!, 2)));
        block.append(pr);
      }
      cell.append(block);
      row.append(cell);
    }
    t.append(row);
  }
  return t;
}

/** A small table: one column per set or channel, one row per quantity. */
function valueTable(corner: string, columns: { name: string; tint?: string }[], rows: [string, number[]][]): HTMLTableElement {
  const t = el('table', { class: 'per-set' });
  const head = el('tr');
  head.append(el('th', {}, corner));
  for (const c of columns) {
    const th = el('th', {}, c.name);
    if (c.tint) th.style.background = c.tint;
    head.append(th);
  }
  t.append(head);
  for (const [label, values] of rows) {
    const tr = el('tr');
    tr.append(el('th', {}, label));
    for (const v of values) tr.append(el('td', {}, fmt(v, 4)));
    t.append(tr);
  }
  return t;
}

const perSet = (r: ExplainResult, rows: [string, number[]][]): HTMLTableElement =>
  valueTable('set', r.sets.map((s, k) => ({ name: s.name, tint: SET_COLORS[k % SET_COLORS.length]! })), rows);

const perChannel = (rows: [string, number[]][]): HTMLTableElement => valueTable('channel', rows[0]![1].map((_, c) => ({ name: `c${c}` })), rows);

/**
 * The classic picture of the three norms: the activation block with N down, C across and H x W
 * going back, the elements that share one mean and variance shaded.
 */
function blockFigure(norm: NormKind, groups: number): SVGSVGElement {
  const NS = 'http://www.w3.org/2000/svg';
  const N = 4;
  const C = 8;
  const cell = 26;
  const depth = 36;
  const dx = depth * 0.7;
  const dy = depth * 0.5;
  const x0 = 40;
  const y0 = 20 + dy;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${x0 + C * cell + dx + 40} ${y0 + N * cell + 40}`);
  svg.setAttribute('class', 'block-figure');
  const shape = (tag: string, attrs: Record<string, string | number>): SVGElement => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
    return e;
  };
  const inSet = (n: number, c: number): boolean => {
    if (norm === 'batch') return c === 0;
    if (norm === 'layer') return n === 0;
    return n === 0 && c < C / groups;
  };
  const fill = (on: boolean): string => (on ? '#4a90d9' : '#f4f4f4');
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      shape('rect', { x: x0 + c * cell, y: y0 + n * cell, width: cell, height: cell, fill: fill(inSet(n, c)), stroke: '#888', 'stroke-width': 0.8 });
    }
  }
  // Top face (row n = 0) and right face (column c = C - 1), each cell a parallelogram.
  for (let c = 0; c < C; c++) {
    const x = x0 + c * cell;
    shape('polygon', { points: `${x},${y0} ${x + dx},${y0 - dy} ${x + cell + dx},${y0 - dy} ${x + cell},${y0}`, fill: fill(inSet(0, c)), stroke: '#888', 'stroke-width': 0.8 });
  }
  for (let n = 0; n < N; n++) {
    const x = x0 + C * cell;
    const y = y0 + n * cell;
    shape('polygon', { points: `${x},${y} ${x + dx},${y - dy} ${x + dx},${y - dy + cell} ${x},${y + cell}`, fill: fill(inSet(n, C - 1)), stroke: '#888', 'stroke-width': 0.8 });
  }
  const label = (x: number, y: number, text: string, anchor = 'middle'): void => {
    const t = shape('text', { x, y, 'text-anchor': anchor, 'font-size': 13, fill: '#333' });
    t.textContent = text;
  };
  label(x0 + (C * cell) / 2, y0 + N * cell + 20, 'C (channels)');
  label(x0 - 8, y0 + (N * cell) / 2, 'N', 'end');
  label(x0 + C * cell + dx + 6, y0 - dy + 4, 'H, W', 'start');
  return svg;
}

async function explain(engine: Engine, norm: NormKind, seed: number): Promise<void> {
  setState('running');
  const r = await explainNorm(engine, norm, { seed });
  status.explain = r;
  const text = NORM_TEXT[norm];
  byId('figure').replaceChildren(blockFigure(norm, r.groups));
  byId('set-text').textContent = `${text.title}: ${text.set}. ${text.note}`;
  const sets = byId('sets');
  sets.replaceChildren();
  r.sets.forEach((s, k) => {
    const li = el('li');
    li.style.borderLeft = `12px solid ${SET_INK[k % SET_INK.length]}`;
    li.textContent = `${s.name}: planes ${s.planes.map(([n, c]) => `(n${n}, c${c})`).join(' ')}, M = ${r.setSize} elements`;
    sets.append(li);
  });

  const terms = byId('terms');
  terms.replaceChildren();
  section('Input x', `N x C x H x W = ${r.shape.join(' x ')}, seed ${r.seed}; each cell's tint is its reduction set.`).append(tensorGrid(r, r.x, 'x'));
  section(
    '1. Statistics of each set',
    'mean = (1/M) Σ x, var = (1/M) Σ (x − mean)² (biased), rstd = 1/√(var + ε): Welford per plane, merged across planes by Chan.',
    r.wgsl['plane moments (Welford)'],
    r.wgsl['merge (Chan)'],
    r.wgsl['mean, rstd'],
  ).append(perSet(r, [['mean', r.stats.mean], ['var', r.stats.var], ['rstd', r.stats.rstd]]));
  section('2. x̂ = (x − mean) · rstd', 'Never stored: every kernel that needs it recomputes it from x and the two statistics.', r.wgsl.xhat).append(tensorGrid(r, r.xhat, 'xhat'));
  const ys = section('3. y = γ[c] · x̂ + β[c]', 'The per-channel affine, the same for all three norms.', r.wgsl.y);
  ys.append(perChannel([['γ', r.gamma], ['β', r.beta]]), tensorGrid(r, r.y, 'y'));
  section('4. The upstream gradient dy = ∂L/∂y', 'Given (fixed seed); in training it comes from the layer above.').append(tensorGrid(r, r.dy, 'dy'));
  section(
    '5. The two reductions',
    'With g = dy · γ[c], per set: mean(g) and mean(g · x̂). They are all the backward needs besides x and the statistics.',
    r.wgsl['sum dy, sum dy*xhat (per plane)'],
    r.wgsl['dbeta, dgamma / mean(g), mean(g*xhat)'],
  ).append(perSet(r, [['mean(g)', r.reductions.meanG], ['mean(g·x̂)', r.reductions.meanGXhat]]));
  section('6. dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))', 'The closed form: the mean subtraction removes the part of g along 1, the second term the part along x̂.', r.wgsl.dx).append(
    tensorGrid(r, r.dx, 'dx'),
  );
  section('7. dγ and dβ', 'dγ[c] = Σ dy · x̂ and dβ[c] = Σ dy, summed over N, H and W for each channel: the per-plane sums of step 5, combined per channel instead of per set.', r.wgsl['dbeta, dgamma / mean(g), mean(g*xhat)']).append(
    perChannel([['dγ', r.dgamma], ['dβ', r.dbeta]]),
  );
  if (r.running) {
    section(
      'Running statistics (batch norm)',
      'running = 0.9 · running + 0.1 · batch, the variance unbiased (× M/(M − 1)); from mean 0, var 1. Evaluation normalises with these.',
      r.wgsl['running statistics'],
    ).append(perChannel([['running mean', r.running.mean], ['running var', r.running.var]]));
  }
  const fd = section(
    '8. Check: dx against finite differences',
    `∂L/∂x ≈ (L(x + h) − L(x − h)) / 2h with L = Σ y · dy, h = ${r.fdCheck.step}, through the same forward kernels, element by element.`,
  );
  fd.append(tensorGrid(r, r.fdCheck.numeric, 'fd'));
  const verdict = el(
    'p',
    { class: r.fdCheck.pass ? 'verdict pass' : 'verdict fail', id: 'fd-verdict' },
    `max |dx − finite difference| = ${r.fdCheck.maxAbsError.toExponential(2)} (tolerance ${r.fdCheck.tolerance}): ${r.fdCheck.pass ? 'pass' : 'FAIL'}`,
  );
  fd.append(verdict);
  byId('doc-link').setAttribute('href', DOC);
  await showJacobian(engine, norm, seed, SET_INK);
  showExercise(engine, norm);
  setState('done');
}

runPage(async () => {
  const engine = await startEngine();
  if (!engine) return;
  const q = new URLSearchParams(location.search);
  const normSelect = byId<HTMLSelectElement>('norm');
  const seedInput = byId<HTMLInputElement>('seed');
  const norm = q.get('norm');
  if (norm && (EXPLAINED as readonly string[]).includes(norm)) normSelect.value = norm;
  if (q.get('seed')) seedInput.value = q.get('seed')!;
  let busy = Promise.resolve();
  const rerun = (): void => {
    const seed = Number(seedInput.value);
    if (!Number.isInteger(seed) || seed < 0) {
      showError(new Error(`the seed must be a whole number of 0 or more (got '${seedInput.value}')`));
      return;
    }
    byId('banner').className = 'banner';
    byId('banner').textContent = '';
    busy = busy.then(() => explain(engine, normSelect.value as NormKind, seed)).catch((e) => showError(e));
  };
  normSelect.addEventListener('change', rerun);
  seedInput.addEventListener('change', rerun);
  rerun();
});
