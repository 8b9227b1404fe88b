// The web pages in a real browser: Debian's Chromium, driven by playwright-core, WebGPU on its
// SwiftShader adapter (a CPU, about 0.3 GFLOP/s, so every run here is tiny). Each test saves a
// screenshot under test-results/browser/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import { decodeCheckpoint } from '../../src/model/checkpoint.js';
import { normBackwardRef } from '../../src/reference/norm.js';
import type { ExplainResult } from '../../src/explain/explain.js';
import type { JacobianResult } from '../../src/explain/jacobian.js';
import type { ExerciseStatus } from '../../src/web/exercise-panel.js';
import { EXPECTED, MISTAKES, wgslSolution } from '../explain/exercise-solutions.js';

const CHROMIUM = process.env.NORMLAB_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-results', 'browser');
/** SwiftShader trains a few images a second: a page run takes 20-60 s here; room for a slower machine. */
const BROWSER_TEST_MS = 300_000;

let web: WebServer;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  web = await startWebServer({ port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Chromium refuses to run as root with its sandbox on.
    args: ['--enable-unsafe-webgpu', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function open(path: string, init?: () => void): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  if (init) await page.addInitScript(init);
  await page.goto(new URL(path, web.url).href);
  return { page, problems };
}

const settled = (page: Page, timeout: number) =>
  page.waitForFunction(() => ['done', 'stopped', 'error', 'no-webgpu'].includes(window.normlab?.state), null, { timeout, polling: 250 });

interface TrainStatus {
  state: string;
  error: string | null;
  adapter: { software: boolean } | null;
  steps: { epoch: number; step: number; loss: number }[];
  epochs: { trainLoss: number; testLoss: number; testAccuracy: number; trainAccuracy: number }[];
  mistakes: number;
  imagesPerSec: number;
  checkpoint: number;
}

describe('the training page', () => {
  it('trains SeedNet a few steps on the built-in sample: the loss falls, mistakes and a loadable checkpoint appear', async () => {
    const { page, problems } = await open('/?norm=batch&images=48&test=32&epochs=3&batch=16&autostart=1');
    await settled(page, 240_000);
    await page.screenshot({ path: join(SHOTS, 'train-page.png'), fullPage: true });
    const s = (await page.evaluate(() => window.normlab)) as unknown as TrainStatus;
    expect(s.error).toBeNull();
    expect(s.state).toBe('done');
    expect(s.adapter?.software).toBe(true); // SwiftShader, so the page chose and said "tiny run"
    expect(await page.locator('#preset').textContent()).toContain('software');

    // 48 images in batches of 16: 3 steps an epoch, each step read back and plotted. Single steps
    // of 16 images are noisy, so the loss is compared over three steps and over whole epochs
    // (measured here: 2.35, 2.14, 1.97 by epoch).
    expect(s.steps.map((p) => `${p.epoch}.${p.step}`)).toEqual(['1.1', '1.2', '1.3', '2.1', '2.2', '2.3', '3.1', '3.2', '3.3']);
    for (const p of s.steps) expect(Number.isFinite(p.loss)).toBe(true);
    const mean3 = (ps: { loss: number }[]) => ps.reduce((a, p) => a + p.loss, 0) / ps.length;
    expect(mean3(s.steps.slice(0, 3))).toBeGreaterThan(2.0); // about ln 10 = 2.30 from the random start
    expect(mean3(s.steps.slice(-3))).toBeLessThan(mean3(s.steps.slice(0, 3)) - 0.15);
    expect(s.epochs).toHaveLength(3);
    expect(s.epochs[2]!.trainLoss).toBeLessThan(s.epochs[0]!.trainLoss - 0.15);
    expect(s.imagesPerSec).toBeGreaterThan(0);
    // The closing line explains a test accuracy below the training one by batch norm's running statistics.
    const banner = (await page.locator('#banner').textContent())!;
    const last = s.epochs[2]!;
    expect(banner).toMatch(/^Done: test accuracy \d+\.\d% after 3 epochs\./);
    expect(banner.includes('batch norm evaluates with its running statistics, moved by 9 updates')).toBe(last.testAccuracy <= last.trainAccuracy - 0.1);

    // The mistakes grid shows the misclassified test images, up to 20, and says how many.
    const shown = await page.locator('#mistakes figure').count();
    expect(shown).toBe(Math.min(20, s.mistakes));
    expect(await page.locator('#mistakes-caption').textContent()).toContain(`${s.mistakes} of 32 test images`);
    expect(await page.locator('#epochs-table tr').count()).toBe(3);

    // The checkpoint the page offers is one the CLI loads: a batch-norm SeedNet for 1x28x28 input,
    // its running statistics updated once per step.
    const bytes = await page.evaluate(async () => {
      const a = document.getElementById('checkpoint') as HTMLAnchorElement;
      return Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer()));
    });
    expect(bytes.length).toBe(s.checkpoint);
    const ckpt = decodeCheckpoint(Uint8Array.from(bytes), 'seednet-batch.safetensors');
    expect(ckpt.config).toMatchObject({ norm: 'batch', inChannels: 1, classes: 10 });
    expect(ckpt.meta.epoch).toBe(3);
    expect(ckpt.batchesTracked).toBe(9);
    const runningVar = ckpt.tensors.get('b1.norm.running_var')!.data as Float32Array;
    expect(runningVar.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, BROWSER_TEST_MS);

  it('stops after the current step when Stop is pressed, and offers the weights so far', async () => {
    const { page, problems } = await open('/?norm=layer&images=64&test=16&epochs=5&batch=16&autostart=1');
    await page.waitForFunction(() => ((window.normlab.steps as unknown[] | undefined)?.length ?? 0) >= 1, null, { timeout: 120_000, polling: 100 });
    await page.click('#stop');
    await settled(page, 120_000);
    const s = (await page.evaluate(() => window.normlab)) as unknown as TrainStatus & { stoppedAt: { epoch: number; step: number } };
    expect(s.state).toBe('stopped');
    // 4 steps an epoch: it stops within the first epoch, at a step boundary, with no epoch finished.
    expect(s.stoppedAt.epoch).toBe(1);
    expect(s.stoppedAt.step).toBeGreaterThanOrEqual(1);
    expect(s.stoppedAt.step).toBeLessThan(4);
    expect(s.steps.at(-1)).toMatchObject({ epoch: 1, step: s.stoppedAt.step });
    expect(s.epochs).toEqual([]);
    expect(await page.locator('#banner').textContent()).toBe(`Stopped at epoch 1, step ${s.stoppedAt.step}.`);
    const bytes = await page.evaluate(async () => Array.from(new Uint8Array(await (await fetch((document.getElementById('checkpoint') as HTMLAnchorElement).href)).arrayBuffer())));
    const ckpt = decodeCheckpoint(Uint8Array.from(bytes), 'seednet-layer.safetensors');
    expect([ckpt.meta.norm, ckpt.meta.epoch, ckpt.meta.stepInEpoch]).toEqual(['layer', 0, s.stoppedAt.step]);
    expect(problems).toEqual([]);
    await page.close();
  }, BROWSER_TEST_MS);

  it('says so in the page when the browser has no WebGPU', async () => {
    const { page } = await open('/', () => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
    await settled(page, 30_000);
    await page.screenshot({ path: join(SHOTS, 'no-webgpu.png') });
    expect(await page.evaluate(() => window.normlab.state)).toBe('no-webgpu');
    expect(await page.locator('#banner').textContent()).toContain('This browser has no WebGPU');
    expect(await page.locator('#start').isDisabled()).toBe(true);
    await page.close();
  });
});

describe('the explainer page', () => {
  it('shows each norm computed by the kernels: dx equals the float64 reference and the finite differences', async () => {
    const { page, problems } = await open('/explain.html');
    await settled(page, 60_000);
    for (const norm of ['batch', 'group', 'layer'] as const) {
      if (norm !== 'batch') {
        await page.evaluate(() => (window.normlab.explain = undefined));
        await page.selectOption('#norm', norm);
        await page.waitForFunction(() => window.normlab.explain !== undefined && window.normlab.state === 'done', null, { timeout: 60_000 });
      }
      await page.screenshot({ path: join(SHOTS, `explain-${norm}.png`), fullPage: true });
      const r = (await page.evaluate(() => window.normlab.explain)) as ExplainResult;
      expect(r.norm).toBe(norm);

      // The kernels' dx against an independent float64 reference (chain rule through the graph).
      const ref = normBackwardRef(r.x, r.gamma, r.beta, r.dy, { kind: norm, shape: r.shape, groups: r.groups, eps: r.eps });
      for (let i = 0; i < r.dx.length; i++) expect(Math.abs(r.dx[i]! - ref.dx[i]!)).toBeLessThan(1e-4);
      // ... and against the page's own central differences through the forward kernels.
      expect(r.fdCheck.numeric).toHaveLength(r.dx.length);
      for (let i = 0; i < r.dx.length; i++) expect(Math.abs(r.dx[i]! - r.fdCheck.numeric[i]!)).toBeLessThanOrEqual(r.fdCheck.tolerance);
      expect(r.fdCheck.pass).toBe(true);
      expect(await page.locator('#fd-verdict').textContent()).toContain('pass');

      // What the page shows is what the kernels returned: the dx grid's cells, and the kernel lines.
      const cells = await page.locator('table.tensor[data-name="dx"] table.plane td').allTextContents();
      expect(cells).toHaveLength(r.dx.length);
      cells.forEach((text, i) => expect(Math.abs(Number(text) - r.dx[i]!)).toBeLessThanOrEqual(0.005 + 1e-9));
      expect(await page.locator('.kernel-line code').first().textContent()).toContain('m.z += d * (v - m.y);');
      expect(await page.locator('#sets li').count()).toBe(r.sets.length);
    }
    // Each measurement the probes make links to its definition, a section of the served document.
    const defs = await page.locator('a.def').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
    expect(defs.length).toBeGreaterThanOrEqual(8);
    const doc = await (await fetch(new URL('/docs/normalization-backprop.md', web.url))).text();
    const anchor = (h: string) => h.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-');
    const anchors = new Set(doc.split('\n').filter((l) => l.startsWith('#')).map((l) => anchor(l.replace(/^#+\s*/, ''))));
    for (const h of defs) expect(anchors, h).toContain(h.split('#')[1]);
    // The page's links lead somewhere: the derivation and the kernel source are served.
    for (const href of ['/docs/normalization-backprop.md', '/src/shaders/norm.wgsl']) {
      const res = await fetch(new URL(href, web.url));
      expect(res.status).toBe(200);
    }
    expect(problems).toEqual([]);
    await page.close();
  }, BROWSER_TEST_MS);

  it("draws the Jacobian with its sets, answers which inputs an output depends on, and checks the learner's dx as the CLI does", async () => {
    const { page, problems } = await open('/explain.html?norm=group');
    await settled(page, 120_000);
    const r = (await page.evaluate(() => window.normlab.jacobian)) as JacobianResult;
    expect(r.norm).toBe('group');
    expect(r.maxAbsError).toBeLessThan(1e-5);
    expect(r.crossSample).toBe(0);
    expect(r.invariants.pass).toBe(true);
    // 32 rows of 32 cells, and one outline per (row run, column run) of each set: group sets are contiguous.
    expect(await page.locator('svg.jacobian-map g.jrow').count()).toBe(32);
    expect(await page.locator('svg.jacobian-map g.jrow').first().locator('rect').count()).toBe(32);
    expect(await page.locator('svg.jacobian-map rect.set-outline').count()).toBe(r.sets.length);
    expect(await page.locator('#jacobian-invariants tr').count()).toBe(r.sets.length + 1);
    // Clicking output 13 (n0 c3 h0 w1, group n0 g1) lists exactly the inputs of its set.
    await page.locator('svg.jacobian-map g.jrow[data-row="13"] rect').first().click();
    const picked = (await page.evaluate(() => window.normlab.jacobianPicked)) as { output: number; inputs: number[] };
    expect(picked.output).toBe(13);
    expect(picked.inputs).toEqual(r.sets.find((s) => s.includes(13)));
    expect(await page.locator('#jacobian-picked').textContent()).toContain('y[n0 c3 h0 w1] depends on 8 of the 32 inputs, all in set n0 g1');
    await page.locator('#jacobian').screenshot({ path: join(SHOTS, 'explain-jacobian-group.png') });

    // The exercise: every solution of the CLI's tests gets the same verdict here.
    const check = async (text: string): Promise<ExerciseStatus> => {
      const before = (await page.evaluate(() => (window.normlab.exercise as ExerciseStatus).checks)) as number;
      await page.fill('#exercise-code', text);
      await page.click('#exercise-check');
      // The check of this text: one still running from before may finish first.
      await page.waitForFunction(([n, t]) => (window.normlab.exercise as ExerciseStatus).checks > (n as number) && (window.normlab.exercise as ExerciseStatus).source === t, [before, text] as const, { timeout: 60_000, polling: 100 });
      return (await page.evaluate(() => window.normlab.exercise)) as ExerciseStatus;
    };
    const lets = (source: string) => source.split('\n').filter((l) => l.startsWith('let ')).join('\n');
    for (const m of MISTAKES) {
      const v = await check(lets(wgslSolution('group', m)));
      expect(v.error, m).toBeNull();
      expect(v.diagnoses, m).toEqual(EXPECTED[m]);
      expect(v.correct, m).toBe(m === 'correct');
      if (m === 'mean-g') await page.locator('#exercise').screenshot({ path: join(SHOTS, 'explain-exercise-wrong.png') });
    }
    expect(await page.locator('#exercise-verdict').textContent()).toMatch(/^WRONG on 2x4x2x2/);
    const broken = await check('let dx = rstd * (g - mean_g_ghw;\nlet dgamma_term = dy * xhat;\nlet dbeta_term = dy;');
    expect(broken.error).toMatch(/^editor:1:\d+: expected '\)'/);
    const right = await check(lets(wgslSolution('group', 'correct')));
    expect(right.correct).toBe(true);
    expect(await page.locator('#exercise-verdict').textContent()).toMatch(/^correct: dx, dgamma and dbeta match/);
    await page.locator('#exercise').screenshot({ path: join(SHOTS, 'explain-exercise-right.png') });
    // Batch norm: a set is a channel of both samples, so each set's block is 2 x 2 outlined pieces,
    // and the blocks between samples are not zero.
    await page.evaluate(() => (window.normlab.jacobian = undefined));
    await page.selectOption('#norm', 'batch');
    await page.waitForFunction(() => window.normlab.jacobian !== undefined && window.normlab.state === 'done', null, { timeout: 60_000 });
    const b = (await page.evaluate(() => window.normlab.jacobian)) as JacobianResult;
    expect(b.crossSample).toBeGreaterThan(0.1);
    expect(await page.locator('svg.jacobian-map rect.set-outline').count()).toBe(b.sets.length * 4);
    await page.locator('svg.jacobian-map g.jrow[data-row="13"] rect').first().click();
    expect(await page.locator('#jacobian-picked').textContent()).toContain('y[n0 c3 h0 w1] depends on 8 of the 32 inputs, all in set c3 (both samples: batch norm couples them)');
    await page.locator('#jacobian').screenshot({ path: join(SHOTS, 'explain-jacobian-batch.png') });
    expect(problems).toEqual([]);
    await page.close();
  }, BROWSER_TEST_MS);
});

describe("the library's browser entry (dist/browser.js)", () => {
  it('imports in a page and trains a model of its own a step, on the page\'s GPU', async () => {
    // Any page of the server will do (a secure origin, so WebGPU is there): one that runs nothing
    // itself, its favicon answered so that no 404 reaches the console.
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console error: ${m.text()}`)));
    const bundle = readFileSync(join(process.cwd(), 'dist', 'browser.js'), 'utf8');
    await page.route('**/normlab-browser.js', (route) => route.fulfill({ body: bundle, contentType: 'text/javascript' }));
    await page.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
    await page.goto(new URL('/docs/api.md', web.url).href);
    // A string, so that vitest does not rewrite the page's import().
    const script = `(async () => {
      const nl = await import('/normlab-browser.js');
      const engine = await nl.Engine.create();
      const model = new nl.Model(engine, nl.sequential({ stem: nl.block(1, 4, 3, 'group', { groups: 2 }), gap: nl.globalAvgPool(), head: nl.linear(4, 3) }), nl.initParams(0));
      const sgd = new nl.SGD(engine, model.parameters, { lr: 0.5, momentum: 0.9, weightDecay: 0 });
      const x = engine.keep(engine.tensor(Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i)), [2, 1, 8, 8]));
      const labels = engine.keep(engine.tensor([0, 2], [2], 'u32'));
      const losses = [];
      for (let step = 0; step < 2; step++) {
        const loss = engine.tidy(() => {
          const l = nl.ops.logSoftmaxNll(model.forward(x, true), labels);
          l.backward();
          sgd.step();
          sgd.zeroGrad();
          return engine.keep(l);
        });
        losses.push((await loss.read())[0]);
      }
      return { losses, names: model.specs.map((s) => s.name), hasFiles: 'saveModel' in nl };
    })()`;
    const r = (await page.evaluate(script)) as { losses: number[]; names: string[]; hasFiles: boolean };
    expect(r.names).toEqual(['stem.conv.weight', 'stem.norm.weight', 'stem.norm.bias', 'head.weight', 'head.bias']);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.losses[1]).toBeLessThan(r.losses[0]!);
    expect(r.hasFiles).toBe(false);
    expect(problems, problems.join('\n')).toEqual([]);
    await page.close();
  }, BROWSER_TEST_MS);
});
