// TensorFlow.js with its WebGPU backend as a peer, on the Dawn instance normlab uses (so the same
// adapter), timed by wall clock: each repetition ends with `await data()` of a one-element result,
// the only way tfjs waits for the GPU in Node (dataSync needs OffscreenCanvas).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Tfjs, TfTensor } from './tfjs-api.js';
import { TfjsSeedNet } from './tfjs-seednet.js';
import { missingPeer, PEER_CONV_LAYERS, timeWallClock, type PeerOptions, type PeerResult, type PeerTiming } from './common.js';

export const TFJS_PEER = 'tfjs-webgpu';

/**
 * tfjs-core's Node build registers no gradients (that is done by the ESM file
 * dist/register_all_gradients.js, which Node cannot import: its imports have no extensions), so the
 * peer is bundled here, as a web app would bundle it: tfjs-core and its gradients, and the WebGPU
 * backend, from their ESM builds into one temporary module (about 1.5 MB, half a second).
 */
const TFJS_ENTRY = [
  "export * from '@tensorflow/tfjs-core';",
  "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
  "import '@tensorflow/tfjs-backend-webgpu';",
].join('\n');

async function bundleTfjs(): Promise<string> {
  // A variable specifier keeps the CLI bundle from bundling esbuild itself.
  const name = 'esbuild';
  const esbuild = (await import(/* @vite-ignore */ name)) as typeof import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'normlab-tfjs-'));
  const file = join(dir, 'tfjs.mjs');
  await esbuild.build({
    stdin: { contents: TFJS_ENTRY, resolveDir: dirname(fileURLToPath(import.meta.url)), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    outfile: file,
    logLevel: 'silent',
  });
  return file;
}

/**
 * Loads tfjs on `gpu`. The WebGPU backend finds WebGPU as navigator.gpu and reads it while being
 * imported, so navigator.gpu is set first (and stays set: an Engine created later in the same process
 * would find it there, the same instance). `gpu` must stay referenced for the process's lifetime
 * (Dawn's Node binding crashes if it is collected); the caller's Engine holds it.
 */
export async function loadTfjs(gpu: GPU): Promise<{ tf: Tfjs; version: string } | { missing: string }> {
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  let tf: Tfjs;
  try {
    const file = await bundleTfjs();
    try {
      tf = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Tfjs;
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  } catch (e) {
    return { missing: `cannot load tfjs (${(e as Error).message.split('\n')[0]}); it is a devDependency: npm install` };
  }
  if (!(await tf.setBackend('webgpu'))) return { missing: 'the tfjs WebGPU backend did not initialise on this adapter' };
  return { tf, version: tf.version_core };
}

/** Waits for everything queued before `t` by reading one element of it. */
async function settle(tf: Tfjs, t: TfTensor): Promise<void> {
  const one = tf.slice(t, new Array(t.rank).fill(0), new Array(t.rank).fill(1));
  await one.data();
  one.dispose();
}

async function timeConvs(tf: Tfjs, opts: PeerOptions): Promise<PeerTiming[]> {
  const rows: PeerTiming[] = [];
  const n = opts.batch;
  for (const l of PEER_CONV_LAYERS) {
    const x = tf.randomNormal([n, l.hw, l.hw, l.ci]);
    const w = tf.randomNormal([3, 3, l.ci, l.co]);
    const dy = tf.randomNormal([n, l.hw, l.hw, l.co]);
    const passes: [string, () => TfTensor][] = [
      ['forward', () => tf.conv2d(x, w, 1, 'same')],
      ['input grad', () => tf.conv2dTranspose(dy, w, [n, l.hw, l.hw, l.ci], 1, 'same')],
      // The kernel tf.grad runs for conv2d's filter gradient; tfjs has no public op for it.
      ['weight grad', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, l.ci, l.co] })],
    ];
    for (const [pass, run] of passes) {
      const timing = await timeWallClock(`conv cifar10 ${l.name} 3x3 ${pass}`, async () => {
        const out = run();
        await settle(tf, out);
        out.dispose();
      }, opts.reps, 1);
      rows.push(timing);
    }
    tf.dispose([x, w, dy]);
  }
  return rows;
}

async function timeSteps(tf: Tfjs, opts: PeerOptions): Promise<PeerTiming[]> {
  const rows: PeerTiming[] = [];
  for (const input of opts.stepInputs) {
    const x = tf.randomNormal([opts.batch, input.size, input.size, input.channels]);
    const labels = tf.tensor1d(Array.from({ length: opts.batch }, (_, i) => i % 10), 'int32');
    const oneHot = tf.oneHot(labels, 10);
    for (const norm of opts.stepNorms) {
      const net = new TfjsSeedNet(tf, { norm, groups: 4, inChannels: input.channels, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const what = `step ${norm} ${input.channels}x${input.size}x${input.size}`;
      rows.push(await timeWallClock(what, async () => {
        const loss = net.step(x, oneHot);
        await loss.data();
        loss.dispose();
      }, opts.stepReps ?? opts.reps, 1));
      net.dispose();
    }
    tf.dispose([x, labels, oneHot]);
  }
  return rows;
}

export async function benchTfjs(gpu: GPU, opts: PeerOptions): Promise<PeerResult> {
  const loaded = await loadTfjs(gpu);
  if ('missing' in loaded) return missingPeer(TFJS_PEER, loaded.missing);
  const { tf, version } = loaded;
  const rows = [...(await timeConvs(tf, opts)), ...(await timeSteps(tf, opts))];
  const leaked = tf.memory().numTensors;
  return {
    peer: TFJS_PEER,
    version,
    missing: null,
    rows,
    notes: [
      `tfjs ${version}, WebGPU backend on the same Dawn instance and adapter; NHWC tensors and HWIO filters (tfjs's native layout), ` +
        'wall clock per repetition ending in await data() of one element; input grad = tf.conv2dTranspose, weight grad = the Conv2DBackpropFilter kernel' +
        (leaked > 0 ? ` (${leaked} tensors still alive after the peer)` : ''),
    ],
  };
}
