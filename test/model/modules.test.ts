// Models from the module tree (src/model/modules.ts, model.ts): SeedNet written out by hand with the
// builder trains bit for bit as SeedNet does, a model of another shape trains through the same
// Trainer, and definitions that cannot work throw one line naming the layer when they are made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { Model } from '../../src/model/model.js';
import { block, conv2d, globalAvgPool, linear, maxPool2d, ModelDefinitionError, sequential, type Module } from '../../src/model/modules.js';
import { paramSpecs, type NormKind } from '../../src/model/seednet.js';
import { hash32 } from '../../src/reference/norm.js';
import { DEFAULT_TRAIN_CONFIG, initParams, Trainer } from '../../src/train/trainer.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

/** SeedNet (../shared/SEEDNET.md) as a user would write it with the builder, for 1-channel input and 10 classes. */
function handWrittenSeedNet(norm: NormKind, groups = 4): Module {
  const o = { groups };
  return sequential({
    b1: block(1, 16, 3, norm, o),
    b2: block(16, 16, 3, norm, o),
    b3: block(16, 16, 1, norm, { ...o, skip: true }),
    pool1: maxPool2d(),
    b4: block(16, 32, 3, norm, o),
    b5: block(32, 32, 3, norm, o),
    b6: block(32, 32, 1, norm, { ...o, skip: true }),
    pool2: maxPool2d(),
    b7: block(32, 32, 3, norm, o),
    b8: block(32, 32, 3, norm, o),
    c9: conv2d(32, 10, 3),
    gap: globalAvgPool(),
    c10: conv2d(10, 10, 1, { skip: true }),
  });
}

const H = 8;
const toy = (() => {
  const split = (seed: number, n: number) => ({
    images: Uint8Array.from({ length: n * H * H }, (_, i) => hash32(i + seed) % 256),
    labels: Uint8Array.from({ length: n }, (_, i) => hash32(i + seed + 1) % 10),
    count: n,
  });
  return { name: 'toy', source: 'test', channels: 1, height: H, width: H, mean: [0.5], std: [0.25], classes: Array.from({ length: 10 }, (_, i) => `c${i}`), train: split(1, 48), test: split(2, 32) };
})();

async function trained<M extends Model>(t: Trainer<M>): Promise<{ losses: number[]; tensors: Map<string, Buffer>; tracked: number }> {
  const metrics = await t.run();
  const tensors = new Map<string, Buffer>();
  for (const [name, tensor] of t.model.tensors) tensors.set(name, Buffer.from((await tensor.read()).buffer));
  const out = { losses: metrics.map((m) => m.trainLoss), tensors, tracked: t.model.batchesTracked };
  t.dispose();
  return out;
}

describe('a model from the builder', () => {
  for (const norm of ['batch', 'group', 'none'] as const) {
    it(`SeedNet written out with the builder trains bit for bit as SeedNet (${norm} norm)`, async () => {
      const tree = handWrittenSeedNet(norm);
      expect(tree.params('')).toEqual(paramSpecs({ inChannels: 1, norm, groups: 4, classes: 10 }));
      const cfg = { ...DEFAULT_TRAIN_CONFIG, norm, epochs: 2, batchSize: 16, evalBatchSize: 16, seed: 3 };
      const seednet = await trained(new Trainer(engine, toy as never, cfg));
      const built = await trained(new Trainer(engine, toy as never, cfg, new Model(engine, tree, initParams(cfg.seed))));
      expect(built.losses).toEqual(seednet.losses);
      expect(built.tracked).toBe(seednet.tracked);
      expect([...built.tensors.keys()]).toEqual([...seednet.tensors.keys()]);
      for (const [name, bytes] of seednet.tensors) expect(built.tensors.get(name)!.equals(bytes), name).toBe(true);
    });
  }

  it('a model of another shape (layer norm, a linear head) trains through the same Trainer', async () => {
    const tree = sequential({
      stem: block(1, 8, 3, 'layer'),
      pool: maxPool2d(),
      body: block(8, 8, 3, 'layer', { skip: true }),
      gap: globalAvgPool(),
      head: linear(8, 10),
    });
    const model = new Model(engine, tree, initParams(5));
    expect(model.specs.map((s) => `${s.name} [${s.shape}]`)).toEqual([
      'stem.conv.weight [8,1,3,3]', 'stem.norm.weight [8]', 'stem.norm.bias [8]',
      'body.conv.weight [8,8,3,3]', 'body.norm.weight [8]', 'body.norm.bias [8]',
      'head.weight [10,8]', 'head.bias [10]',
    ]);
    expect(model.outputs).toBe(10);
    const before = Buffer.from((await model.tensor('head.bias').read()).buffer);
    const r = await trained(new Trainer(engine, toy as never, { ...DEFAULT_TRAIN_CONFIG, epochs: 2, batchSize: 16, evalBatchSize: 16 }, model));
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.tensors.get('head.bias')!.equals(before)).toBe(false);
  });
});

describe('state_dict', () => {
  it("stateDict() and loadStateDict() move a model's tensors as PyTorch's do, strict by default", async () => {
    const tree = () => sequential({ stem: block(1, 8, 3, 'batch'), gap: globalAvgPool(), head: linear(8, 10) });
    const a = new Model(engine, tree(), initParams(1));
    a.batchesTracked = 7;
    const b = new Model(engine, tree(), initParams(2));
    const state = await a.stateDict();
    expect([...state.keys()]).toEqual(['stem.conv.weight', 'stem.norm.weight', 'stem.norm.bias', 'stem.norm.running_mean', 'stem.norm.running_var', 'stem.norm.num_batches_tracked', 'head.weight', 'head.bias']);
    b.loadStateDict(state);
    expect(b.batchesTracked).toBe(7);
    const after = await b.stateDict();
    for (const [name, t] of state) expect(Buffer.from(after.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    const without = new Map(state);
    without.delete('head.bias');
    expect(() => b.loadStateDict(without)).toThrow('loadStateDict: missing head.bias');
    b.loadStateDict(without, { strict: false });
    expect(() => b.loadStateDict(new Map([...state, ['extra.weight', state.get('head.bias')!]]))).toThrow('loadStateDict: unexpected extra.weight');
    expect(() => b.loadStateDict(new Map([...state, ['head.bias', state.get('stem.norm.bias')!]]))).toThrow("loadStateDict: 'head.bias' is F32 [8], the model has F32 [10]");
    a.dispose();
    b.dispose();
  });
});

describe('a definition that cannot work', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['channels that do not match', () => sequential({ b1: block(1, 16, 3, 'batch'), b2: block(32, 32, 3, 'batch') }), /^model: b2: expects 32 input channels, but b1 gives 16$/],
    ['a group count that does not divide the channels', () => sequential({ b1: block(1, 16, 3, 'group', { groups: 3 }) }), /^model: b1: group norm with 3 groups does not divide 16 channels$/],
    ['a skip between different shapes', () => sequential({ b1: block(1, 16, 3, 'layer'), b2: block(16, 32, 1, 'layer', { skip: true }) }), /^model: b2: a skip adds the input \(16 channels\) to the output \(32 channels\): different shapes$/],
    ['a conv skip between different shapes', () => sequential({ c: conv2d(3, 10, 1, { skip: true }) }), /^model: c: a skip adds the input \(3 channels\) to the output \(10 channels\)/],
    ['a kernel the engine has not', () => sequential({ c: conv2d(3, 8, 5 as 3) }), /^model: c: kernel size 5: the engine's convolutions are 1x1 and 3x3/],
    ['an unknown norm', () => sequential({ b: block(3, 8, 3, 'weight' as NormKind) }), /^model: b: unknown norm 'weight'/],
    ['zero channels', () => sequential({ b: block(3, 0, 3, 'batch') }), /^model: b: out channels must be a positive integer \(got 0\)$/],
    ['a name PyTorch cannot have', () => sequential({ 'my block': block(3, 8, 3, 'batch') }), /^model: my block: a layer name must be an identifier/],
    ['no layers', () => sequential({}), /^model: sequential: has no layers$/],
    ['a linear head after the wrong width', () => sequential({ b: block(3, 8, 3, 'batch'), gap: globalAvgPool(), head: linear(16, 10) }), /^model: head: expects 16 input channels, but gap gives 8$/],
  ];
  for (const [what, define, message] of cases) {
    it(`${what}: one line naming the layer, when it is defined`, () => {
      let caught: unknown;
      try {
        define();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ModelDefinitionError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('\n');
    });
  }

  it('a model whose input does not fit the dataset is refused by the Trainer, naming both', () => {
    const model = new Model(engine, sequential({ b: block(3, 10, 3, 'batch'), gap: globalAvgPool() }), initParams(1));
    expect(() => new Trainer(engine, toy as never, DEFAULT_TRAIN_CONFIG, model)).toThrow('the model takes 3 channels and gives 10 outputs; the dataset has 1 channels and 10 classes');
    model.dispose();
  });
});
