// A sweep on disk: every norm at every point for every seed, under one recipe otherwise. Two kinds:
//   batch-size  the points are batch sizes, the learning rate scaled linearly with the batch size
//               by default (Wu & He 2018 did the same); directories b2/, b4/, ...
//   lr          the points are learning rates at one batch size (the largest each norm tolerates;
//               Bjorck et al. 2018 tie batch norm's benefit to it); directories lr0.05/, lr0.1/, ...
// A sweep directory holds
//   sweep.json     what was asked: kind, points, norms, seeds, the learning-rate rule, the recipe, the dataset
//   one comparison directory per point (comparison-dir.ts), resumable and mergeable exactly as a comparison's
// The runs are ordered seeds outer, then points, then norms; `--shard i/n` takes every n-th of them
// from the i-th, so n array jobs of a cluster scheduler share the work evenly and disjointly, and
// `normlab report` merges their directories.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, UserError } from '../engine/errors.js';
import type { NormName } from '../report/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { MANIFEST_FILE, writeManifest, type ComparisonManifest, type DatasetIdentity } from './comparison-dir.js';

export const SWEEP_FILE = 'sweep.json';
const FORMAT = 'normlab-sweep';
const FORMAT_VERSION = 1;

export const DEFAULT_SIZES = [2, 4, 8, 16, 32, 64, 128];
/** The lr sweep's default points: a factor of 2 apart, from the recipe's 0.05 to 32 times it. */
export const DEFAULT_LRS = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6];
/** The batch size the base learning rate belongs to (the recipe's default batch). */
export const BASE_BATCH = 128;

export type LrScaling = 'linear' | 'none';
export const SWEEP_KINDS = ['batch-size', 'lr'] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];

export interface SweepManifest {
  format: typeof FORMAT;
  formatVersion: number;
  normlabVersion: string;
  kind: SweepKind;
  /** Batch sizes (kind lr: the one batch size of every run). */
  sizes: number[];
  /** Kind lr: the learning rates swept. */
  lrs?: number[];
  norms: NormName[];
  seeds: number[];
  lrScaling: LrScaling;
  /** The learning rate at BASE_BATCH images; at batch B it is baseLr * B / BASE_BATCH (linear). */
  baseLr: number;
  baseBatch: number;
  /** Everything else that decides a run: the comparison recipe without batchSize and lr. */
  recipe: Record<string, string | number | boolean>;
  dataset: DatasetIdentity;
  preset: { name: string; why: string };
  startedAt: string;
}

/** One point of a sweep: its directory, the batch size and learning rate its runs train with. */
export interface SweepPoint {
  dir: string;
  batchSize: number;
  lr: number;
}

export interface SweepRun {
  point: SweepPoint;
  norm: NormName;
  seed: number;
}

export const sizeDir = (size: number): string => `b${size}`;
export const lrDir = (lr: number): string => `lr${lr}`;

type PointSource = Pick<SweepManifest, 'sizes'> & Partial<Pick<SweepManifest, 'kind' | 'lrs' | 'lrScaling' | 'baseLr' | 'baseBatch'>>;

/** The sweep's points in order: batch sizes ascending, or learning rates ascending. */
export function sweepPoints(m: PointSource): SweepPoint[] {
  if (m.kind === 'lr') return [...(m.lrs ?? [])].sort((a, b) => a - b).map((lr) => ({ dir: lrDir(lr), batchSize: m.sizes[0]!, lr }));
  const rule = { lrScaling: m.lrScaling ?? 'none', baseLr: m.baseLr ?? NaN, baseBatch: m.baseBatch ?? BASE_BATCH };
  return m.sizes.map((size) => ({ dir: sizeDir(size), batchSize: size, lr: lrFor(rule, size) }));
}

export function lrFor(m: Pick<SweepManifest, 'lrScaling' | 'baseLr' | 'baseBatch'>, size: number): number {
  return m.lrScaling === 'linear' ? (m.baseLr * size) / m.baseBatch : m.baseLr;
}

/** Steps per epoch at a batch size: smaller batches take more steps over the same epochs. */
export function stepsPerEpoch(trainCount: number, size: number): number {
  return Math.ceil(trainCount / size);
}

/** Every run of the sweep in training order: seeds outer, then points, then norms. */
export function sweepRuns(m: PointSource & Pick<SweepManifest, 'norms' | 'seeds'>): SweepRun[] {
  return m.seeds.flatMap((seed) => sweepPoints(m).flatMap((point) => m.norms.map((norm) => ({ point, norm, seed }))));
}

export interface Shard {
  index: number;
  count: number;
}

/** '--shard i/n': the i-th (1-based) of n parts. */
export function parseShard(raw: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new UsageError(`--shard '${raw}': expected i/n, e.g. 2/4 for the second of four parts`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard '${raw}': i must be from 1 to n (there is no part ${index} of ${count})`);
  return { index, count };
}

/** The runs of one shard: every count-th run, starting at the index-th. */
export function shardRuns<T>(runs: readonly T[], shard: Shard | undefined): T[] {
  return shard ? runs.filter((_, j) => j % shard.count === shard.index - 1) : [...runs];
}

/** The comparison manifest of one point's directory. */
export function pointManifest(m: SweepManifest, p: SweepPoint): Omit<ComparisonManifest, 'format' | 'formatVersion'> {
  return {
    normlabVersion: m.normlabVersion,
    recipe: { ...m.recipe, batchSize: p.batchSize, lr: p.lr },
    norms: m.norms,
    seeds: m.seeds,
    dataset: m.dataset,
    preset: m.preset,
    startedAt: m.startedAt,
  };
}

/** Writes sweep.json and each point's comparison.json (left as they are when already there). */
export function writeSweep(dir: string, m: Omit<SweepManifest, 'format' | 'formatVersion'>): SweepManifest {
  const full: SweepManifest = { format: FORMAT, formatVersion: FORMAT_VERSION, ...m };
  if (!existsSync(join(dir, SWEEP_FILE))) writeFileAtomic(join(dir, SWEEP_FILE), `${JSON.stringify(full, null, 2)}\n`);
  for (const p of sweepPoints(full)) {
    const d = join(dir, p.dir);
    if (!existsSync(join(d, MANIFEST_FILE))) writeManifest(d, pointManifest(full, p));
  }
  return full;
}

export function isSweepDir(dir: string): boolean {
  return existsSync(join(dir, SWEEP_FILE));
}

export function readSweep(dir: string): SweepManifest {
  const path = join(dir, SWEEP_FILE);
  let m: SweepManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as SweepManifest;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (not a sweep directory)' : `not JSON (${(e as Error).message})`;
    throw new UserError(`${path}: ${why}`);
  }
  if (m.format !== FORMAT) throw new UserError(`${path}: not a normlab sweep (format '${String(m.format)}')`);
  if (m.formatVersion !== FORMAT_VERSION) throw new UserError(`${path}: sweep format version ${m.formatVersion}, this normlab reads ${FORMAT_VERSION}`);
  if (!SWEEP_KINDS.includes(m.kind)) throw new UserError(`${path}: unknown sweep kind '${String(m.kind)}'`);
  for (const k of ['sizes', 'norms', 'seeds', ...(m.kind === 'lr' ? (['lrs'] as const) : [])] as const) {
    if (!Array.isArray(m[k]) || m[k].length === 0) throw new UserError(`${path}: '${k}' is missing or empty`);
  }
  return m;
}
