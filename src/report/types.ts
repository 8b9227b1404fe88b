// What the comparison hands to the report writer. Everything here is measured; the report derives
// its tables, plots and its reading of the results from these numbers alone.
import type { AdapterSummary } from '../engine/device.js';

export interface EpochRow {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Wall-clock seconds of the epoch's training (evaluation excluded). */
  seconds: number;
  imagesPerSec: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
}

export interface NormRun {
  norm: 'batch' | 'group' | 'layer';
  /** GroupNorm's G (1 for layer norm, unused for batch norm). */
  groups: number;
  params: number;
  epochs: EpochRow[];
  /** Predicted class of every test image, in file order. */
  predictions: Uint8Array;
  /** Checkpoint path relative to the report directory. */
  checkpoint: string;
}

export interface ReportDataset {
  name: string;
  source: string;
  classes: readonly string[];
  channels: number;
  height: number;
  width: number;
  trainCount: number;
  /** Test images as bytes, N x C x H x W (channel-major), and their labels. */
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export interface ComparisonResult {
  dataset: ReportDataset;
  runs: NormRun[];
  adapter: AdapterSummary;
  /** The training recipe as flags and values (epochs, batch size, lr, schedule, seed, subset...). */
  recipe: Record<string, string | number | boolean>;
  /** Which preset ran and why, e.g. {name: 'quick', why: 'software adapter (lavapipe) ...'}. */
  preset: { name: string; why: string };
  startedAt: string;
  totalSeconds: number;
  normlabVersion: string;
}
