// The seed experiment's claims (its README, on CIFAR-10), each put to this comparison's numbers: a
// claim is a set of directed comparisons between norms on one measure; it is supported when every
// one is separated in the claimed direction, contradicted when any is separated against it, and
// otherwise not separated at this budget. Computed from comparison-stats, never canned.
import type { ComparisonStats, Separation } from './comparison-stats.js';
import type { NormName } from './types.js';
import { ciPoints, points, type Namer } from './verdicts.js';

/** The seed's own figures (CIFAR-10, one run each; train accuracy a running training-mode average). */
export const SEED_FIGURES: Record<'batch' | 'group' | 'layer', { train: number; test: number }> = {
  batch: { train: 0.8003, test: 0.6977 },
  group: { train: 0.7264, test: 0.7 },
  layer: { train: 0.7175, test: 0.6929 },
};

type Measure = 'test' | 'trainEval' | 'gaps' | 'difficulty';

const MEASURE_WORDS: Record<Measure, { what: string; unit: string }> = {
  test: { what: 'test accuracy', unit: ' points' },
  trainEval: { what: 'train accuracy (evaluation mode)', unit: ' points' },
  gaps: { what: 'train-test gap (evaluation-mode train minus test accuracy)', unit: ' points' },
  difficulty: { what: 'mean difficulty of the misclassified test images (fraction of all runs that miss them)', unit: '' },
};

/** "higher is greater than lower" on a measure. */
interface Directed {
  measure: Measure;
  higher: NormName;
  lower: NormName;
}

export type ClaimVerdict = 'supported' | 'contradicted' | 'not separated' | 'not tested';

export interface ClaimCheck {
  claim: string;
  /** What the seed's own numbers say (CIFAR-10, a single run). */
  seedSays: string;
  verdict: ClaimVerdict;
  /** One line per directed comparison, with its numbers and interval or test. */
  evidence: string[];
}

interface ClaimSpec {
  claim: string;
  seedSays: string;
  parts: Directed[];
}

const SEED_GAP = (n: keyof typeof SEED_FIGURES) => points(SEED_FIGURES[n].train - SEED_FIGURES[n].test);

export const SEED_CLAIMS: readonly ClaimSpec[] = [
  {
    claim: 'Ranking of test accuracy: group norm above batch norm above layer norm',
    seedSays: 'GN 70.00%, BN 69.77%, LN 69.29%: one run each; all three inside one run\'s 95% interval of about ±0.9 points',
    parts: [
      { measure: 'test', higher: 'group', lower: 'batch' },
      { measure: 'test', higher: 'batch', lower: 'layer' },
      { measure: 'test', higher: 'group', lower: 'layer' },
    ],
  },
  {
    claim: '"Only Group Normalisation did not have much overfitting"',
    seedSays: `train-test gaps BN ${SEED_GAP('batch')}, GN ${SEED_GAP('group')}, LN ${SEED_GAP('layer')} points (running training-mode train accuracy), so LN's gap was as small as GN's`,
    parts: [
      { measure: 'gaps', higher: 'batch', lower: 'group' },
      { measure: 'gaps', higher: 'layer', lower: 'group' },
    ],
  },
  {
    claim: '"Batch Normalisation gets slightly better training as well as test accuracy"',
    seedSays: 'BN train 80.03% vs GN 72.64%, LN 71.75%; test 69.77% vs 70.00%, 69.29% (its test accuracy was not the best)',
    parts: [
      { measure: 'trainEval', higher: 'batch', lower: 'group' },
      { measure: 'trainEval', higher: 'batch', lower: 'layer' },
      { measure: 'test', higher: 'batch', lower: 'group' },
      { measure: 'test', higher: 'batch', lower: 'layer' },
    ],
  },
  {
    claim: '"For Batch Normalisation the misclassified images are relatively tough to distinguish"',
    seedSays: 'judged by eye from one grid of mistakes per norm',
    parts: [
      { measure: 'difficulty', higher: 'batch', lower: 'group' },
      { measure: 'difficulty', higher: 'batch', lower: 'layer' },
    ],
  },
  {
    claim: 'Layer norm\'s misclassified images "should have been classified correctly"',
    seedSays: 'judged by eye from one grid of mistakes per norm',
    parts: [
      { measure: 'difficulty', higher: 'batch', lower: 'layer' },
      { measure: 'difficulty', higher: 'group', lower: 'layer' },
    ],
  },
];

function findSeparation(stats: ComparisonStats, d: Directed): { sep: Separation; flip: boolean } | undefined {
  const pairs = d.measure === 'test' ? stats.test : stats[d.measure].pairs;
  const direct = pairs.find((p) => p.a === d.higher && p.b === d.lower);
  if (direct) return { sep: direct, flip: false };
  const reverse = pairs.find((p) => p.a === d.lower && p.b === d.higher);
  return reverse ? { sep: reverse, flip: true } : undefined;
}

function scale(measure: Measure, x: number): string {
  return measure === 'difficulty' ? x.toFixed(3) : points(x);
}

/** Checks one claim against the comparison's statistics. */
export function checkClaim(spec: ClaimSpec, stats: ComparisonStats, name: Namer): ClaimCheck {
  const evidence: string[] = [];
  const sides: number[] = [];
  for (const d of spec.parts) {
    const found = findSeparation(stats, d);
    if (!found || !found.sep.seeds.length || !Number.isFinite(found.sep.meanDiff)) {
      const ran = stats.norms.some((s) => s.norm === d.higher && s.n > 0) && stats.norms.some((s) => s.norm === d.lower && s.n > 0);
      const why = !ran ? 'not in this comparison' : d.measure === 'difficulty' ? 'not tested: a run without mistakes has no mistakes to rate' : 'not tested: no shared seed';
      evidence.push(`${name(d.higher)} vs ${name(d.lower)}: ${why}`);
      sides.push(NaN);
      continue;
    }
    const { sep, flip } = found;
    const diff = flip ? -sep.meanDiff : sep.meanDiff;
    const ci = sep.ci95 ? (flip ? ([-sep.ci95[1], -sep.ci95[0]] as [number, number]) : sep.ci95) : null;
    const side = flip ? -sep.side : sep.side;
    sides.push(side);
    const w = MEASURE_WORDS[d.measure];
    const interval = ci ? `, 95% CI ${d.measure === 'difficulty' ? `[${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : ciPoints(ci)}` : '';
    const reading = side > 0 ? 'as claimed' : side < 0 ? 'against the claim' : 'not separated';
    evidence.push(`${w.what}, ${name(d.higher)} minus ${name(d.lower)}: ${scale(d.measure, diff)}${w.unit}${interval} (${sep.method}): ${reading}`);
  }
  // One comparison separated against the claim contradicts it, whatever else could not be tested.
  let verdict: ClaimVerdict;
  if (sides.some((s) => s < 0)) verdict = 'contradicted';
  else if (sides.some((s) => Number.isNaN(s))) verdict = 'not tested';
  else if (sides.every((s) => s > 0)) verdict = 'supported';
  else verdict = 'not separated';
  return { claim: spec.claim, seedSays: spec.seedSays, verdict, evidence };
}

export function checkSeedClaims(stats: ComparisonStats, name: Namer): ClaimCheck[] {
  return SEED_CLAIMS.map((c) => checkClaim(c, stats, name));
}
