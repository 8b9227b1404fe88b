// A plain CNN with layer norm (no skips, a linear head), trained on Fashion-MNIST through normlab's
// public API. Run it from a checkout (after `npm run build`) or wherever normlab is installed:
//   node examples/plain-cnn.mjs [--subset 2000] [--test-subset 1000] [--epochs 2] [--out plain-cnn.safetensors]
// The checkpoint loads back with loadModel(), and into PyTorch through pytorchSource() (docs/api.md).
import { parseArgs } from 'node:util';
import { DEFAULT_TRAIN_CONFIG, Engine, Model, Trainer, block, globalAvgPool, initParams, linear, loadDataset, maxPool2d, saveModel, sequential, subsetTest, subsetTrain } from 'normlab';

const { values } = parseArgs({ options: { subset: { type: 'string', default: '2000' }, 'test-subset': { type: 'string', default: '1000' }, epochs: { type: 'string', default: '2' }, out: { type: 'string' } } });
const data = subsetTest(subsetTrain(loadDataset(), Number(values.subset)), Number(values['test-subset']));

// conv -> layer norm -> ReLU, three times with pooling between, then a global pool and a linear head.
const net = sequential({
  conv1: block(data.channels, 16, 3, 'layer'),
  pool1: maxPool2d(),
  conv2: block(16, 32, 3, 'layer'),
  pool2: maxPool2d(),
  conv3: block(32, 64, 3, 'layer'),
  gap: globalAvgPool(),
  head: linear(64, data.classes.length),
});

const engine = await Engine.create();
const model = new Model(engine, net, initParams(1));
console.log(`plain CNN with layer norm: ${model.parameterCount} parameters (${model.specs.map((s) => s.name).join(', ')})`);
const trainer = new Trainer(engine, data, { ...DEFAULT_TRAIN_CONFIG, epochs: Number(values.epochs), batchSize: 64, lr: 0.05 }, model);
await trainer.run({
  onEpoch: (m) => console.log(`epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(3)}, test accuracy ${(100 * m.testAccuracy).toFixed(1)}% (${data.test.count} images), ${m.imagesPerSec.toFixed(0)} images/s`),
});
if (values.out) {
  await saveModel(values.out, model, { dataset: data.name });
  console.log(`saved ${values.out}`);
}
trainer.dispose();
engine.destroy();
