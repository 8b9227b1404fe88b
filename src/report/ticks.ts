// Axis ticks shared by the report's PNG charts and the web pages' canvas charts (no drawing here,
// so the browser bundle takes it without the PNG encoder).

export interface Ticks {
  lo: number;
  hi: number;
  step: number;
  values: number[];
  decimals: number;
}

/** 1, 2, 5 or 10 times a power of ten, nearest to (round) or at least (ceil) x. */
function niceNum(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/**
 * "Nice" ticks covering [min, max] (Heckbert's algorithm): a step of 1, 2 or 5 times a power of
 * ten, bounds rounded outward to the step. A degenerate range is widened around its value.
 * With `integer`, the step is at least 1 and the bounds stay at min and max (epochs 1..N).
 */
export function niceTicks(min: number, max: number, target = 5, integer = false): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    min = 0;
    max = 1;
  }
  if (max < min) [min, max] = [max, min];
  if (integer) {
    const lo = Math.floor(min);
    const hi = Math.max(Math.ceil(max), lo);
    if (hi === lo) return { lo: lo - 0.5, hi: hi + 0.5, step: 1, values: [lo], decimals: 0 };
    const step = Math.max(1, niceNum((hi - lo) / Math.max(1, target - 1), true));
    const values: number[] = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) values.push(v);
    // Epoch 1 is where the curves start: label it unless it would crowd the first tick.
    if (values.length === 0 || values[0]! - lo >= step / 2) values.unshift(lo);
    return { lo, hi, step, values, decimals: 0 };
  }
  if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
    const d = Math.abs(min) > 1e-12 ? Math.abs(min) * 0.1 : 1;
    min -= d;
    max += d;
  }
  const range = niceNum(max - min, false);
  const step = niceNum(range / Math.max(1, target - 1), true);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const values: number[] = [];
  const n = Math.round((hi - lo) / step);
  for (let i = 0; i <= n; i++) values.push(lo + i * step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { lo, hi, step, values, decimals };
}

export function formatTick(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return s === `-${(0).toFixed(decimals)}` ? s.slice(1) : s;
}
