// Float64 reference of the probes (src/engine/ops/probe.ts).

/** Mean and population standard deviation, two passes. */
export function momentsRef(x: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length) };
}

/** ||a - b|| (b omitted: ||a||). */
export function distanceRef(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let q = 0;
  for (let i = 0; i < a.length; i++) q += (a[i]! - (b ? b[i]! : 0)) ** 2;
  return Math.sqrt(q);
}
