// SeedNet (../shared/SEEDNET.md) with every block twice as wide, built from SeedNet's own layer
// table with normlab's module builder and trained on Fashion-MNIST with group norm:
//   node examples/seednet-wide.mjs [--subset 2000] [--test-subset 1000] [--epochs 2] [--norm group] [--width 2]
import { parseArgs } from 'node:util';
import { DEFAULT_TRAIN_CONFIG, Engine, Model, SEEDNET_LAYERS, Trainer, block, conv2d, globalAvgPool, initParams, loadDataset, maxPool2d, sequential, subsetTest, subsetTrain } from 'normlab';

const { values } = parseArgs({ options: { subset: { type: 'string', default: '2000' }, 'test-subset': { type: 'string', default: '1000' }, epochs: { type: 'string', default: '2' }, norm: { type: 'string', default: 'group' }, width: { type: 'string', default: '2' } } });
const data = subsetTest(subsetTrain(loadDataset(), Number(values.subset)), Number(values['test-subset']));
const width = Number(values.width);

// SeedNet's table: blocks (conv -> norm -> ReLU, some with a skip), pools, the classifier convs.
const layers = {};
let channels = data.channels;
for (const l of SEEDNET_LAYERS) {
  if (l.kind === 'maxpool') layers[l.name] = maxPool2d();
  else if (l.kind === 'gap') layers[l.name] = globalAvgPool();
  else {
    const out = l.kind === 'block' ? l.out * width : data.classes.length;
    layers[l.name] = l.kind === 'block' ? block(channels, out, l.kernel, values.norm, { skip: l.skip, groups: 4 }) : conv2d(channels, out, l.kernel, { skip: l.skip });
    channels = out;
  }
}

const engine = await Engine.create();
const model = new Model(engine, sequential(layers), initParams(1));
console.log(`SeedNet x${width} with ${values.norm} norm: ${model.parameterCount} parameters`);
const trainer = new Trainer(engine, data, { ...DEFAULT_TRAIN_CONFIG, epochs: Number(values.epochs), batchSize: 64 }, model);
await trainer.run({
  onEpoch: (m) => console.log(`epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(3)}, test accuracy ${(100 * m.testAccuracy).toFixed(1)}% (${data.test.count} images), ${m.imagesPerSec.toFixed(0)} images/s`),
});
trainer.dispose();
engine.destroy();
