// SeedNet (SEEDNET.md) written in TensorFlow.js ops, NHWC as tfjs is natively, with the training
// step a tfjs user would write: tf.variableGrads for the gradients, then SGD with momentum and
// weight decay as PyTorch's SGD does it (tf.train.momentum has no weight decay).
import type { Tfjs, TfTensor, TfVariable } from './tfjs-api.js';
import type { NormKind } from '../../src/model/seednet.js';

interface Conv {
  w: TfVariable;
}
interface Norm {
  gamma: TfVariable;
  beta: TfVariable;
  /** Batch norm only: running statistics, updated with momentum 0.1 (unbiased variance). */
  runningMean?: TfVariable;
  runningVar?: TfVariable;
}
interface Block {
  conv: Conv;
  norm: Norm;
}

const EPS = 1e-5;

export interface TfjsSeedNetConfig {
  norm: NormKind;
  groups: number;
  inChannels: number;
  lr: number;
  momentum: number;
  weightDecay: number;
}

export class TfjsSeedNet {
  private readonly blocks: Block[];
  private readonly c9: Conv;
  private readonly c10: Conv;
  private readonly trainable: TfVariable[];
  private readonly velocity: TfVariable[];

  constructor(
    private readonly tf: Tfjs,
    private readonly cfg: TfjsSeedNetConfig,
  ) {
    const spec: [number, number, number][] = [
      [cfg.inChannels, 16, 3], [16, 16, 3], [16, 16, 1],
      [16, 32, 3], [32, 32, 3], [32, 32, 1],
      [32, 32, 3], [32, 32, 3],
    ];
    this.blocks = spec.map(([ci, co, k]) => ({ conv: this.conv(ci, co, k), norm: this.norm(co) }));
    this.c9 = this.conv(32, 10, 3);
    this.c10 = this.conv(10, 10, 1);
    this.trainable = [...this.blocks.flatMap((b) => [b.conv.w, b.norm.gamma, b.norm.beta]), this.c9.w, this.c10.w];
    this.velocity = this.trainable.map((v) => this.variable(() => tf.zerosLike(v), false));
  }

  /** A variable whose initial tensor is freed (tf.variable keeps a copy). */
  private variable(init: () => TfTensor, trainable = true): TfVariable {
    return this.tf.tidy(() => this.tf.variable(init(), trainable));
  }

  /** PyTorch's default Conv2d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); HWIO as tfjs wants. */
  private conv(ci: number, co: number, k: number): Conv {
    const bound = 1 / Math.sqrt(ci * k * k);
    return { w: this.variable(() => this.tf.randomUniform([k, k, ci, co], -bound, bound)) };
  }

  private norm(c: number): Norm {
    const tf = this.tf;
    const n: Norm = { gamma: this.variable(() => tf.ones([c])), beta: this.variable(() => tf.zeros([c])) };
    if (this.cfg.norm === 'batch') {
      n.runningMean = this.variable(() => tf.zeros([c]), false);
      n.runningVar = this.variable(() => tf.ones([c]), false);
    }
    return n;
  }

  private normalize(x: TfTensor, n: Norm): TfTensor {
    const tf = this.tf;
    if (this.cfg.norm === 'batch') {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const count = x.size / x.shape[3];
      n.runningMean!.assign(tf.add(tf.mul(n.runningMean!, 0.9), tf.mul(mean, 0.1)));
      n.runningVar!.assign(tf.add(tf.mul(n.runningVar!, 0.9), tf.mul(variance, (0.1 * count) / (count - 1))));
      return tf.batchNorm(x, mean, variance, n.beta, n.gamma, EPS);
    }
    // Group and layer norm: statistics per sample over (H, W, C/G); layer norm is one group.
    const [N, H, W, C] = x.shape;
    const G = this.cfg.norm === 'layer' ? 1 : this.cfg.groups;
    const grouped = tf.reshape(x, [N, H, W, G, C / G]);
    const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
    const normed = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, EPS))), [N, H, W, C]);
    return tf.add(tf.mul(normed, n.gamma), n.beta);
  }

  private block(x: TfTensor, b: Block): TfTensor {
    return this.tf.relu(this.normalize(this.tf.conv2d(x, b.conv.w, 1, 'same'), b.norm));
  }

  /** Log-probabilities [N, 10] in training mode. */
  forward(x: TfTensor): TfTensor {
    const tf = this.tf;
    const [b1, b2, b3, b4, b5, b6, b7, b8] = this.blocks as [Block, Block, Block, Block, Block, Block, Block, Block];
    let h = this.block(this.block(x, b1), b2);
    h = tf.maxPool(tf.add(h, this.block(h, b3)), 2, 2, 'valid');
    h = this.block(this.block(h, b4), b5);
    h = tf.maxPool(tf.add(h, this.block(h, b6)), 2, 2, 'valid');
    h = tf.conv2d(this.block(this.block(h, b7), b8), this.c9.w, 1, 'same');
    const gap = tf.mean(h, [1, 2], true);
    const out = tf.add(gap, tf.conv2d(gap, this.c10.w, 1, 'same'));
    return tf.logSoftmax(tf.reshape(out, [x.shape[0], 10]));
  }

  /** One training step; returns the loss (a scalar the caller reads, which syncs). */
  step(x: TfTensor, oneHot: TfTensor): TfTensor {
    const tf = this.tf;
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(this.forward(x), oneHot), 1))), this.trainable);
      const { lr, momentum, weightDecay } = this.cfg;
      this.trainable.forEach((v, i) => {
        const g = tf.add(grads[v.name]!, tf.mul(v, weightDecay));
        const buf = this.velocity[i]!;
        buf.assign(tf.add(tf.mul(buf, momentum), g));
        v.assign(tf.sub(v, tf.mul(buf, lr)));
      });
      return value;
    });
  }

  dispose(): void {
    for (const v of [...this.trainable, ...this.velocity]) v.dispose();
    for (const b of this.blocks) {
      b.norm.runningMean?.dispose();
      b.norm.runningVar?.dispose();
    }
  }
}
