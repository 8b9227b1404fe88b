// What the comparison hands to the report writer. Everything here is measured; the report derives
// its tables, statistics, plots and its reading of the results from these numbers alone.
import type { AdapterSummary } from '../engine/device.js';
import type { NormKind } from '../model/norms.js';
import type { BnStatsAudit } from '../train/bn-stats.js';

export type NormName = NormKind;

export interface EpochRow {
  epoch: number;
  /** Running average over the epoch's steps, in training mode, while the weights moved. */
  trainLoss: number;
  trainAccuracy: number;
  /** After the epoch, in evaluation mode, on the fixed training images (ReportDataset.trainEvalCount). */
  trainEvalLoss: number;
  trainEvalAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Wall-clock seconds of the epoch's training (evaluation excluded). */
  seconds: number;
  imagesPerSec: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
}

/** One norm trained with one seed. */
export interface NormRun {
  norm: NormName;
  /** GroupNorm's G (1 for layer norm, unused for batch norm). */
  groups: number;
  seed: number;
  params: number;
  epochs: EpochRow[];
  /** Predicted class of every test image after the last epoch, in file order. */
  predictions: Uint8Array;
  /** Checkpoint path relative to the report directory. */
  checkpoint: string;
  /** Batch norm only: test accuracy under running, precise and per-batch statistics (src/train/bn-stats.ts). */
  bnStats?: BnStatsAudit;
}

export interface ReportDataset {
  name: string;
  source: string;
  classes: readonly string[];
  channels: number;
  height: number;
  width: number;
  trainCount: number;
  /** Training images of the evaluation-mode pass after each epoch (the first this many). */
  trainEvalCount: number;
  /** Test images as bytes, N x C x H x W (channel-major), and their labels. */
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export interface ComparisonResult {
  dataset: ReportDataset;
  /** Every (norm, seed) run, seeds ascending within each norm, norms in `norms` order. */
  runs: NormRun[];
  /** The norms compared, in the order the report lists them. */
  norms: NormName[];
  /** Every seed that has at least one run, ascending. */
  seeds: number[];
  /** The adapters the runs trained on (several when merged from several machines). */
  adapters: AdapterSummary[];
  /** The training recipe as flags and values (epochs, batch size, lr, schedule, subset...), seeds aside. */
  recipe: Record<string, string | number | boolean>;
  /** Which preset ran and why, e.g. {name: 'quick', why: 'software adapter (lavapipe) ...'}. */
  preset: { name: string; why: string };
  startedAt: string;
  /** Wall-clock seconds of all runs (training and evaluation), summed. */
  totalSeconds: number;
  normlabVersion: string;
  /** The comparison directories the runs were read from (one, unless merged by `normlab report`). */
  sources: string[];
  /** Runs whose gradient became NaN or infinite: left out of `runs` and of every statistic. */
  diverged: DivergedRun[];
}

export interface DivergedRun {
  norm: NormName;
  seed: number;
  epoch: number;
  step: number;
}
