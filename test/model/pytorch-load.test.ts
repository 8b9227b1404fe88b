// A model of the module tree, trained a little, saved with saveModel: the file alone rebuilds it in
// normlab (loadModel), and it loads into the PyTorch module normlab writes for it
// (pytorchSource) with load_state_dict(strict=True), whose eval-mode outputs match normlab's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, noGrad } from '../../src/engine/index.js';
import { loadModel, readCheckpoint, saveModel } from '../../src/model/checkpoint-files.js';
import { Model } from '../../src/model/model.js';
import { block, conv2d, globalAvgPool, linear, maxPool2d, sequential } from '../../src/model/modules.js';
import { pytorchSource } from '../../src/model/pytorch-source.js';
import { hash32 } from '../../src/reference/norm.js';
import { DEFAULT_TRAIN_CONFIG, initParams, Trainer } from '../../src/train/trainer.js';
import { runAsync } from '../helpers/cli.js';
import { hasTorch } from '../helpers/torch.js';

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create();
  dir = mkdtempSync(join(tmpdir(), 'normlab-pytorch-load-'));
});
afterAll(() => {
  engine?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const H = 8;
const split = (seed: number, n: number) => ({
  images: Uint8Array.from({ length: n * H * H }, (_, i) => hash32(i + seed) % 256),
  labels: Uint8Array.from({ length: n }, (_, i) => hash32(i + seed + 1) % 10),
  count: n,
});
const toy = { name: 'toy', source: 'test', channels: 1, height: H, width: H, mean: [0.5], std: [0.25], classes: Array.from({ length: 10 }, (_, i) => `c${i}`), train: split(1, 32), test: split(2, 16) };

/** Every kind of module, batch norm's running statistics moved by training. */
const definition = () =>
  sequential({
    stem: block(1, 8, 3, 'batch'),
    mix: block(8, 8, 1, 'group', { groups: 2, skip: true }),
    pool: maxPool2d(),
    wide: block(8, 16, 3, 'layer'),
    plain: block(16, 16, 3, 'none', { skip: true }),
    inst: block(16, 16, 3, 'instance'),
    squeeze: conv2d(16, 12, 1),
    gap: globalAvgPool(),
    head: linear(12, 10),
  });

async function outputs(model: Model, x: Float32Array): Promise<Float32Array> {
  return noGrad(() => engine.tidy(() => model.forward(engine.tensor(x, [4, 1, H, H]), false).read()));
}

describe('a model checkpoint', () => {
  // One model of every module kind, trained an epoch and saved; both tests read its file.
  let trainer: Trainer<Model>;
  let path = '';
  const x = Float32Array.from({ length: 4 * H * H }, (_, i) => (hash32(i + 99) % 1000) / 500 - 1);
  let want: Float32Array;
  beforeAll(async () => {
    trainer = new Trainer(engine, toy as never, { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: 8, evalBatchSize: 8 }, new Model(engine, definition(), initParams(9)));
    await trainer.run();
    path = join(dir, 'model.safetensors');
    await saveModel(path, trainer.model, { dataset: 'toy' });
    want = await outputs(trainer.model, x);
  });
  afterAll(() => trainer?.dispose());

  it('rebuilds the same model from the file alone', async () => {
    const { model, metadata } = loadModel(engine, path);
    expect(metadata.dataset).toBe('toy');
    expect(model.module.spec).toEqual(trainer.model.module.spec);
    expect(model.batchesTracked).toBe(trainer.model.batchesTracked);
    expect(Buffer.from((await outputs(model, x)).buffer).equals(Buffer.from(want.buffer))).toBe(true);
    model.dispose();
    // SeedNet's loader (normlab eval, predict) says what the file is and what reads it.
    expect(() => readCheckpoint(path)).toThrow(`${path}: a model of the module tree (saveModel), not a SeedNet checkpoint: load it with loadModel() (docs/api.md)`);
  });

  it.skipIf(!hasTorch)('loads into the matching PyTorch module with load_state_dict(strict=True), which computes the same outputs within 1e-4 (needs Debian\'s python3-torch)', async () => {
    writeFileSync(join(dir, 'module.py'), pytorchSource(trainer.model.module.spec));
    writeFileSync(join(dir, 'x.f32'), x);
    const r = await runAsync('/usr/bin/python3', ['scripts/torch/check_model.py', join(dir, 'module.py'), path, join(dir, 'x.f32'), '4', '1', String(H), String(H)]);
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout) as { shape: number[]; values: number[]; names: string[] };
    expect(py.names).toEqual([...(await trainer.model.stateDict()).keys()]);
    expect(py.shape).toEqual([4, 10]);
    py.values.forEach((v, i) => expect(Math.abs(v - want[i]!), `output ${i}`).toBeLessThan(1e-4));
  });

  it.skipIf(!hasTorch)("a definition PyTorch's module does not match is refused by load_state_dict(strict=True) (the check can fail; needs Debian's python3-torch)", async () => {
    const model = new Model(engine, sequential({ stem: block(1, 8, 3, 'batch'), gap: globalAvgPool() }), initParams(1));
    const path = join(dir, 'small.safetensors');
    await saveModel(path, model);
    // The module written for another definition: a group norm where the file has batch norm's buffers.
    writeFileSync(join(dir, 'other.py'), pytorchSource(sequential({ stem: block(1, 8, 3, 'group', { groups: 2 }), gap: globalAvgPool() }).spec));
    writeFileSync(join(dir, 'x1.f32'), new Float32Array(H * H));
    const r = await runAsync('/usr/bin/python3', ['scripts/torch/check_model.py', join(dir, 'other.py'), path, join(dir, 'x1.f32'), '1', '1', String(H), String(H)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Unexpected key\(s\) in state_dict: .*"stem\.norm\.running_mean"/);
    model.dispose();
  });
});
