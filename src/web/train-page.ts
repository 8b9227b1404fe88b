// The training page (web/index.html): SeedNet trained in the browser by the same engine, kernels
// and Trainer as the CLI, on the built-in sample of the dataset, with live curves, images/s and a
// grid of the current test mistakes. URL parameters preset the form and can start the run
// (?norm=group&images=64&test=32&epochs=2&batch=16&autostart=1), as the browser tests do.
import type { Engine } from '../engine/engine.js';
import { NORM_KINDS, type NormKind } from '../model/seednet.js';
import { checkpointMeta, encodeCheckpoint } from '../model/checkpoint.js';
import type { Dataset } from '../train/data/dataset.js';
import { DEFAULT_TRAIN_CONFIG, Trainer, type EpochMetrics, type Progress, type TrainConfig } from '../train/trainer.js';
import { formatDuration } from '../train/progress.js';
import { drawChart } from './charts.js';
import { byId, el, runPage, setState, showError, startEngine, status } from './page.js';
import { decodeSample, takeImages } from './sample.js';

const SAMPLE_URL = 'dist/sample.bin.gz';
const NORM_COLORS: Record<NormKind, string> = { batch: '#1f77b4', group: '#ff7f0e', layer: '#2ca02c', instance: '#9467bd', none: '#7f7f7f' };
const TEST_COLOR = '#d62728';

interface RunSize {
  images: number;
  test: number;
  epochs: number;
  batch: number;
}
/** A software adapter trains a few images per second (SwiftShader here: 3-5), so 12 steps of 32 images. */
const TINY: RunSize = { images: 128, test: 100, epochs: 3, batch: 32 };
/** The whole sample, on a GPU adapter. */
const GPU_RUN: RunSize = { images: 2000, test: 500, epochs: 5, batch: 128 };

interface StepPoint {
  epoch: number;
  step: number;
  /** Epochs done, fractional: where the point sits on the x axis. */
  x: number;
  /** Mean loss and accuracy of the steps since the previous point (not the epoch's running mean). */
  loss: number;
  accuracy: number;
}

const form = {
  norm: () => byId<HTMLSelectElement>('norm'),
  groups: () => byId<HTMLInputElement>('groups'),
  images: () => byId<HTMLInputElement>('images'),
  test: () => byId<HTMLInputElement>('test'),
  epochs: () => byId<HTMLInputElement>('epochs'),
  batch: () => byId<HTMLInputElement>('batch'),
  lr: () => byId<HTMLInputElement>('lr'),
};

async function loadSample(): Promise<Dataset> {
  const res = await fetch(SAMPLE_URL);
  if (!res.ok || !res.body) {
    throw new Error(
      `the dataset sample ${SAMPLE_URL} is missing (HTTP ${res.status}): build it with \`npm run build\` ` +
        'once the dataset is installed (`node scripts/setup.mjs`), then reload',
    );
  }
  const bytes = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  return decodeSample(bytes, SAMPLE_URL);
}

function intField(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got '${input.value}')`);
  return v;
}

function readConfig(sample: Dataset): { cfg: TrainConfig; images: number; test: number } {
  const norm = form.norm().value as NormKind;
  const groups = intField(form.groups(), 'groups', 1, 16);
  if (norm === 'group' && (16 % groups !== 0 || 32 % groups !== 0)) throw new Error(`groups must divide 16 and 32 (SeedNet's channel counts); ${groups} does not`);
  const images = intField(form.images(), 'training images', 1, sample.train.count);
  const test = intField(form.test(), 'test images', 1, sample.test.count);
  const lr = Number(form.lr().value);
  if (!(lr > 0 && lr <= 10)) throw new Error(`the learning rate must be above 0 and at most 10 (got '${form.lr().value}')`);
  const batchSize = intField(form.batch(), 'batch size', 1, 1024);
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    norm,
    groups,
    epochs: intField(form.epochs(), 'epochs', 1, 100),
    batchSize,
    lr,
    evalBatchSize: Math.min(test, 250),
  };
  return { cfg, images, test };
}

function presetForm(size: RunSize): void {
  const q = new URLSearchParams(location.search);
  const norm = q.get('norm');
  if (norm && (NORM_KINDS as readonly string[]).includes(norm)) form.norm().value = norm;
  form.images().value = q.get('images') ?? String(size.images);
  form.test().value = q.get('test') ?? String(size.test);
  form.epochs().value = q.get('epochs') ?? String(size.epochs);
  form.batch().value = q.get('batch') ?? String(size.batch);
  form.lr().value = q.get('lr') ?? String(DEFAULT_TRAIN_CONFIG.lr);
  form.groups().value = q.get('groups') ?? String(DEFAULT_TRAIN_CONFIG.groups);
}

function drawCurves(norm: NormKind, epochs: number, steps: StepPoint[], rows: EpochMetrics[]): void {
  drawChart(byId<HTMLCanvasElement>('loss-chart'), {
    title: 'Loss',
    xLabel: 'epoch',
    yLabel: 'NLL loss',
    xMax: epochs,
    series: [
      { name: 'train (recent steps)', color: NORM_COLORS[norm], points: steps.map((p) => [p.x, p.loss]) },
      { name: 'test (end of epoch)', color: TEST_COLOR, points: rows.map((r) => [r.epoch, r.testLoss]), markers: true, dashed: true },
    ],
  });
  drawChart(byId<HTMLCanvasElement>('acc-chart'), {
    title: 'Accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    xMax: epochs,
    yRange: [0, 100],
    ySuffix: '%',
    series: [
      { name: 'train (recent steps)', color: NORM_COLORS[norm], points: steps.map((p) => [p.x, p.accuracy * 100]) },
      { name: 'test (end of epoch)', color: TEST_COLOR, points: rows.map((r) => [r.epoch, r.testAccuracy * 100]), markers: true, dashed: true },
    ],
  });
}

/** The test images the model gets wrong, enlarged, each with its true and predicted class. */
function drawMistakes(ds: Dataset, predictions: Uint8Array, limit = 20): number {
  const host = byId('mistakes');
  host.replaceChildren();
  const { channels: C, height: H, width: W } = ds;
  const per = C * H * W;
  const scale = Math.max(2, Math.floor(84 / Math.max(H, W)));
  let shown = 0;
  let wrong = 0;
  for (let i = 0; i < ds.test.count; i++) {
    const label = ds.test.labels[i]!;
    const pred = predictions[i]!;
    if (label === pred) continue;
    wrong++;
    if (shown >= limit) continue;
    shown++;
    const canvas = el('canvas', { width: String(W), height: String(H), class: 'digit' });
    canvas.style.width = `${W * scale}px`;
    canvas.style.height = `${H * scale}px`;
    const img = new ImageData(W, H);
    for (let p = 0; p < H * W; p++) {
      for (let k = 0; k < 3; k++) img.data[p * 4 + k] = ds.test.images[i * per + (C === 3 ? k : 0) * H * W + p]!;
      img.data[p * 4 + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    const fig = el('figure');
    fig.append(canvas, el('figcaption', {}, `#${i}: ${ds.classes[label]} → ${ds.classes[pred]}`));
    host.append(fig);
  }
  byId('mistakes-caption').textContent =
    wrong === 0 ? 'No test image is misclassified.' : `${wrong} of ${ds.test.count} test images misclassified; the first ${shown}, true class → predicted:`;
  return wrong;
}

async function train(engine: Engine, sample: Dataset, stop: { requested: boolean }): Promise<void> {
  const { cfg, images, test } = readConfig(sample);
  const ds = takeImages(sample, images, test);
  const steps: StepPoint[] = [];
  const rows: EpochMetrics[] = [];
  Object.assign(status, { config: { ...cfg, images, test }, steps, epochs: rows, mistakes: null, imagesPerSec: null, checkpoint: null });
  setState('running');
  byId('banner').className = 'banner';
  byId('banner').textContent = `Training SeedNet with ${cfg.norm} norm on ${images} images, batch ${cfg.batchSize}, ${cfg.epochs} epochs; compiling kernels first.`;
  drawCurves(cfg.norm, cfg.epochs, steps, rows);
  const trainer = new Trainer(engine, ds, cfg);
  try {
    let last = { epoch: 0, images: 0, lossSum: 0, correct: 0 };
    await trainer.run({
      // A readback after every step: the curves move step by step (one GPU sync a step; fine at page sizes).
      progressIntervalSeconds: 0,
      shouldStop: () => stop.requested,
      testPredictions: true,
      onProgress: (p: Progress) => {
        if (p.epoch !== last.epoch) last = { epoch: p.epoch, images: 0, lossSum: 0, correct: 0 };
        const lossSum = p.runningLoss * p.images;
        const correct = p.runningAccuracy * p.images;
        const n = p.images - last.images;
        steps.push({
          epoch: p.epoch,
          step: p.step,
          x: p.epoch - 1 + p.step / p.steps,
          loss: (lossSum - last.lossSum) / n,
          accuracy: (correct - last.correct) / n,
        });
        last = { epoch: p.epoch, images: p.images, lossSum, correct };
        status.imagesPerSec = p.imagesPerSec;
        byId('progress').textContent =
          `epoch ${p.epoch}/${cfg.epochs}, step ${p.step}/${p.steps} · ${p.imagesPerSec.toFixed(1)} images/s · ` +
          `loss ${steps.at(-1)!.loss.toFixed(3)} · about ${formatDuration(p.etaSeconds)} left`;
        drawCurves(cfg.norm, cfg.epochs, steps, rows);
      },
      onEpoch: (m, _model, test) => {
        rows.push(m);
        status.mistakes = drawMistakes(ds, test.predictions!);
        drawCurves(cfg.norm, cfg.epochs, steps, rows);
        const row = el('tr');
        for (const v of [
          String(m.epoch),
          m.trainLoss.toFixed(4),
          `${(m.trainAccuracy * 100).toFixed(1)}%`,
          `${(m.trainEvalAccuracy * 100).toFixed(1)}%`,
          m.testLoss.toFixed(4),
          `${(m.testAccuracy * 100).toFixed(1)}%`,
          m.seconds.toFixed(1),
          m.imagesPerSec.toFixed(1),
        ]) row.append(el('td', {}, v));
        byId('epochs-table').append(row);
      },
    });
    const done = rows.length;
    const bytes = await encodeCheckpoint(trainer.model, checkpointMeta(ds, cfg, done, images, trainer.stoppedAt?.step ?? 0));
    offerCheckpoint(bytes, cfg.norm);
    status.checkpoint = bytes.length;
    status.stoppedAt = trainer.stoppedAt;
    setState(trainer.stoppedAt ? 'stopped' : 'done');
    byId('banner').textContent = trainer.stoppedAt
      ? `Stopped at epoch ${trainer.stoppedAt.epoch}, step ${trainer.stoppedAt.step}.`
      : `Done: test accuracy ${rows.length ? (rows.at(-1)!.testAccuracy * 100).toFixed(1) : '-'}% after ${done} epochs.${runningStatsNote(cfg, rows, trainer.stepsPerEpoch)}`;
  } finally {
    trainer.dispose();
  }
}

/**
 * Batch norm tests with its running statistics, which a short run has moved only a little from
 * their start (mean 0, variance 1): said when the measured test accuracy trails the training one.
 */
function runningStatsNote(cfg: TrainConfig, rows: EpochMetrics[], stepsPerEpoch: number): string {
  const last = rows.at(-1);
  if (cfg.norm !== 'batch' || !last || last.testAccuracy > last.trainAccuracy - 0.1) return '';
  const updates = rows.length * stepsPerEpoch;
  return (
    ` Test accuracy trails training accuracy (${(last.trainAccuracy * 100).toFixed(1)}%): batch norm evaluates with its running ` +
    `statistics, moved by ${updates} updates of momentum 0.1 from mean 0 and variance 1, not yet the statistics it trained with. ` +
    'Group and layer norm use the same statistics in training and evaluation.'
  );
}

function offerCheckpoint(bytes: Uint8Array, norm: NormKind): void {
  const a = byId<HTMLAnchorElement>('checkpoint');
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  a.download = `seednet-${norm}.safetensors`;
  a.hidden = false;
}

runPage(async () => {
  const engine = await startEngine();
  if (!engine) return;
  const sample = await loadSample();
  const software = engine.adapterInfo.software;
  presetForm(software ? TINY : GPU_RUN);
  byId('dataset').textContent = `${sample.source}; ${sample.classes.length} classes, ${sample.height}x${sample.width}x${sample.channels}.`;
  byId('preset').textContent = software
    ? `This adapter is a software renderer (a CPU, a few images per second), so the form starts with a tiny run: ` +
      `${TINY.images} training images, batch ${TINY.batch}, ${TINY.epochs} epochs. Raise the numbers at will.`
    : `A GPU adapter: the form starts with the whole sample (${GPU_RUN.images} images, ${GPU_RUN.epochs} epochs).`;
  status.sample = { train: sample.train.count, test: sample.test.count };
  setState('ready');

  const start = byId<HTMLButtonElement>('start');
  const stopButton = byId<HTMLButtonElement>('stop');
  const stop = { requested: false };
  start.disabled = false;
  const go = async (): Promise<void> => {
    start.disabled = true;
    stopButton.disabled = false;
    stop.requested = false;
    byId('epochs-table').replaceChildren();
    try {
      await train(engine, sample, stop);
    } catch (e) {
      showError(e);
    } finally {
      start.disabled = false;
      stopButton.disabled = true;
    }
  };
  start.addEventListener('click', () => void go());
  stopButton.addEventListener('click', () => {
    stop.requested = true;
    stopButton.disabled = true;
  });
  if (new URLSearchParams(location.search).get('autostart') === '1') void go();
});
