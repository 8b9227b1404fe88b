// normlab predict: classify PNG images with a checkpoint; prints the top classes.
import { Engine } from '../../engine/engine.js';
import { UserError } from '../../engine/errors.js';
import { noGrad } from '../../engine/autograd.js';
import { modelFromCheckpoint } from '../../model/checkpoint.js';
import { readCheckpoint } from '../../model/checkpoint-files.js';
import { GpuSplit } from '../../train/data/gpu-data.js';
import { readPngInput } from '../../train/data/png-input.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'classify PNG images with a checkpoint and print the top classes',
  usage: 'normlab predict --checkpoint FILE IMAGE.png [IMAGE.png ...] [--top K] [--json]',
  positional: { name: 'IMAGE.png', help: 'images to classify (resized to the model input when needed)', min: 1, max: 1000 },
  flags: [
    { name: 'checkpoint', type: 'string', metavar: 'FILE', help: 'a normlab .safetensors checkpoint (required)' },
    { name: 'top', type: 'int', min: 1, max: 10, default: 3, help: 'classes to show per image' },
    { name: 'json', type: 'bool', help: 'print JSON' },
  ],
  async run(args: ParsedArgs) {
    const path = str(args, 'checkpoint');
    if (!path) throw new UserError('--checkpoint FILE is required', 2);
    const ckpt = readCheckpoint(path);
    const m = ckpt.meta;
    const inputs = args.positional.map((p) => ({ path: p, ...readPngInput(p, m.inChannels, m.height, m.width) }));
    const per = m.inChannels * m.height * m.width;
    const images = new Uint8Array(inputs.length * per);
    inputs.forEach((inp, i) => images.set(inp.bytes, i * per));
    const engine = await Engine.create();
    const model = modelFromCheckpoint(engine, ckpt);
    const ds = { channels: m.inChannels, height: m.height, width: m.width, mean: m.mean, std: m.std };
    const split = new GpuSplit(engine, ds, { images, labels: new Uint8Array(inputs.length), count: inputs.length }, inputs.length);
    try {
      const x = engine.empty([inputs.length, m.inChannels, m.height, m.width]);
      const y = engine.empty([inputs.length], 'u32');
      split.gather(Uint32Array.from(inputs.keys()), x, y);
      const logits = noGrad(() => model.forward(x, false));
      const l = await logits.read();
      const K = m.classes;
      const results = inputs.map((inp, i) => {
        const row = Array.from(l.subarray(i * K, (i + 1) * K));
        const mx = Math.max(...row);
        const e = row.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, b) => a + b, 0);
        const top = e
          .map((v, k) => ({ class: m.classNames[k] ?? String(k), index: k, probability: v / z }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, num(args, 'top'));
        return { image: inp.path, note: inp.note, top };
      });
      if (bool(args, 'json')) out.line(JSON.stringify(results, null, 2));
      else {
        for (const r of results) {
          out.line(`${r.image}${r.note ? ` (${r.note})` : ''}`);
          for (const t of r.top) out.line(`  ${(100 * t.probability).toFixed(1).padStart(5)}%  ${t.class}`);
        }
      }
      x.dispose();
      y.dispose();
      logits.dispose();
      return 0;
    } finally {
      split.destroy();
      model.dispose();
      engine.destroy();
    }
  },
};
