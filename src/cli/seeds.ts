// --seeds, shared by the commands that train several seeds: a count ("5" is seeds 0..4) or a list
// of seeds and inclusive ranges ("0,1,2", "3-7", "0-4,9"). One line and exit 2 for anything else.
import { UsageError } from '../engine/errors.js';

export const MAX_SEEDS = 100;
const MAX_SEED = 2 ** 31 - 1;

export const SEEDS_HELP = `seeds to train: a count N (seeds 0..N-1) or a list of seeds and ranges, e.g. 0,1,2 or 5-9; at most ${MAX_SEEDS}`;

export function parseSeeds(raw: string): number[] {
  const bad = (why: string): never => {
    throw new UsageError(`--seeds '${raw}': ${why}; give a count (--seeds 5 for 0..4) or a list (--seeds 0,1,2, 5-9, or 3-3 for seed 3 alone)`);
  };
  const text = raw.trim();
  if (text === '') bad('empty');
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1) bad('a count of at least 1 is needed');
    if (n > MAX_SEEDS) bad(`more than ${MAX_SEEDS} seeds`);
    return Array.from({ length: n }, (_, i) => i);
  }
  const seeds: number[] = [];
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) bad(/^-\d/.test(item) ? `'${item}' is negative` : `'${item}' is not a non-negative integer or a range A-B`);
    const lo = Number(m![1]);
    const hi = m![2] !== undefined ? Number(m![2]) : lo;
    if (hi > MAX_SEED) bad(`${hi} is above the largest seed, ${MAX_SEED}`);
    if (hi < lo) bad(`the range ${item} runs backwards`);
    if (hi - lo + 1 + seeds.length > MAX_SEEDS) bad(`more than ${MAX_SEEDS} seeds`);
    for (let s = lo; s <= hi; s++) {
      if (seeds.includes(s)) bad(`seed ${s} is repeated`);
      seeds.push(s);
    }
  }
  if (!seeds.length) bad('no seed in it');
  return seeds;
}
