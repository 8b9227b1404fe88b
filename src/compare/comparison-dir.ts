// A comparison directory on disk, the only thing comparisons share between machines:
//   comparison.json              what was asked: recipe, norms, seeds, dataset (with a fingerprint), version
//   results/NORM-seedS.json      one finished run: its epochs, parameters, adapter, seconds
//   predictions/NORM-seedS.csv   its final test predictions (index,label,predicted, as `normlab eval --predictions`)
//   checkpoints/NORM-seedS.safetensors
// A run counts as finished once its results file exists; it is written last, atomically, after the
// predictions, so a kill at any moment leaves a run either finished or absent (and rerun on --resume).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { BnStatsAudit } from '../train/bn-stats.js';
import type { AdapterSummary } from '../engine/device.js';
import type { EpochRow, NormName } from '../report/types.js';

export const MANIFEST_FILE = 'comparison.json';
const FORMAT = 'normlab-comparison';
const FORMAT_VERSION = 1;

export interface DatasetIdentity {
  name: string;
  /** Where it was read from on the machine that trained (a hint for `normlab report`). */
  source: string;
  /** sha256 of the training images and labels used and of the test images and labels. */
  fingerprint: string;
  trainCount: number;
  testCount: number;
  trainEvalCount: number;
  channels: number;
  height: number;
  width: number;
  classes: string[];
}

export interface ComparisonManifest {
  format: typeof FORMAT;
  formatVersion: number;
  normlabVersion: string;
  /** Everything that decides a run except the norm and the seed. */
  recipe: Record<string, string | number | boolean>;
  norms: NormName[];
  seeds: number[];
  dataset: DatasetIdentity;
  preset: { name: string; why: string };
  startedAt: string;
}

export interface RunRecord {
  norm: NormName;
  seed: number;
  groups: number;
  params: number;
  epochs: EpochRow[];
  /** Relative to the comparison directory. */
  checkpoint: string;
  /** '' for a run that diverged: it has no final predictions. */
  predictions: string;
  /** Set when a gradient became NaN or infinite: where, and the trainer's message. Such a run is finished, without predictions. */
  diverged?: { epoch: number; step: number; message: string };
  /** Batch norm: final test accuracy under running, precise and batch statistics (src/train/bn-stats.ts). */
  bnStats?: BnStatsAudit;
  adapter: AdapterSummary;
  /** With --probe-every: the probes' file (relative to the directory) and what they cost. */
  probes?: RunProbes;
  /** Wall-clock seconds of the run, training and evaluation. */
  seconds: number;
  finishedAt: string;
}

export interface RunProbes {
  file: string;
  every: number;
  steps: number;
  /** Wall time of the probe phases, and of the whole training (epochs, probes included). */
  seconds: number;
  trainingSeconds: number;
}

export const runStem = (norm: NormName, seed: number) => `${norm}-seed${seed}`;
export const resultsPath = (norm: NormName, seed: number) => `results/${runStem(norm, seed)}.json`;
export const predictionsPath = (norm: NormName, seed: number) => `predictions/${runStem(norm, seed)}.csv`;
export const probesPath = (norm: NormName, seed: number) => `probes/${runStem(norm, seed)}.csv`;
export const checkpointPath = (norm: NormName, seed: number) => `checkpoints/${runStem(norm, seed)}.safetensors`;

export function writeManifest(dir: string, m: Omit<ComparisonManifest, 'format' | 'formatVersion'>): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify({ format: FORMAT, formatVersion: FORMAT_VERSION, ...m }, null, 2)}\n`);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${path}: not valid JSON (${what})`);
  }
}

/** The manifest of a comparison directory, or one line saying why `dir` is not one. */
export function readManifest(dir: string): ComparisonManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(dir)) throw new UserError(`${dir}: does not exist`);
  if (!existsSync(path)) throw new UserError(`${dir}: not a comparison directory (no ${MANIFEST_FILE}; \`normlab compare --out ${dir}\` writes one)`);
  const m = readJson(path, 'the comparison manifest') as Partial<ComparisonManifest>;
  if (m.format !== FORMAT) throw new UserError(`${path}: not a normlab comparison manifest`);
  if (m.formatVersion !== FORMAT_VERSION) throw new UserError(`${path}: format version ${m.formatVersion}, this normlab reads ${FORMAT_VERSION}`);
  for (const k of ['normlabVersion', 'recipe', 'norms', 'seeds', 'dataset', 'preset', 'startedAt'] as const) {
    if (m[k] === undefined) throw new UserError(`${path}: lacks '${k}'`);
  }
  return m as ComparisonManifest;
}

/** Writes a finished run: predictions first, then the results file that marks it finished. */
export function writeRun(dir: string, record: RunRecord, labels: Uint8Array, predictions: Uint8Array | undefined): void {
  mkdirSync(join(dir, 'predictions'), { recursive: true });
  mkdirSync(join(dir, 'results'), { recursive: true });
  if (predictions) writeFileAtomic(join(dir, record.predictions), predictionsCsv(labels, predictions));
  writeFileAtomic(join(dir, resultsPath(record.norm, record.seed)), `${JSON.stringify(record, null, 2)}\n`);
}

/** index,label,predicted per test image, as `normlab eval --predictions` writes it. */
export function predictionsCsv(labels: Uint8Array, predictions: Uint8Array): string {
  const lines = ['index,label,predicted'];
  for (let i = 0; i < predictions.length; i++) lines.push(`${i},${labels[i]},${predictions[i]}`);
  return `${lines.join('\n')}\n`;
}

/** Parses a predictions CSV, checking its header, its indices and its labels against the test set's. */
export function parsePredictionsCsv(path: string, labels: Uint8Array): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.trimEnd().split('\n');
  if (lines[0] !== 'index,label,predicted') throw new UserError(`${path}: line 1 is not the header 'index,label,predicted'`);
  if (lines.length - 1 !== labels.length) throw new UserError(`${path}: ${lines.length - 1} predictions for ${labels.length} test images`);
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const [index, label, predicted] = lines[i + 1]!.split(',').map(Number);
    if (index !== i || !Number.isInteger(predicted) || predicted! < 0 || predicted! > 255) throw new UserError(`${path}: line ${i + 2} is not '${i},LABEL,PREDICTED'`);
    if (label !== labels[i]) throw new UserError(`${path}: line ${i + 2} has label ${label} where the test set has ${labels[i]} (another test set?)`);
    out[i] = predicted!;
  }
  return out;
}

/** The finished runs recorded in a comparison directory, in file-name order. */
export function readRunRecords(dir: string): RunRecord[] {
  const results = join(dir, 'results');
  if (!existsSync(results)) return [];
  return readdirSync(results)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const path = join(results, f);
      const r = readJson(path, 'a run record') as Partial<RunRecord>;
      for (const k of ['norm', 'seed', 'groups', 'params', 'epochs', 'checkpoint', 'predictions', 'adapter', 'seconds'] as const) {
        if (r[k] === undefined) throw new UserError(`${path}: lacks '${k}'`);
      }
      return r as RunRecord;
    });
}

export function isFinished(dir: string, norm: NormName, seed: number): boolean {
  return existsSync(join(dir, resultsPath(norm, seed)));
}
