// What each specialised convolution kernel saves in the training step: every row and option of
// the kernel table (src/engine/ops/conv2d-select.ts) that changes some SeedNet layer's choice is
// switched off in turn, and the whole step (batch gather, forward, loss, backward, SGD) is timed
// with it off and with everything on, one process, in blocks of four single steps ordered
// on-off-off-on or off-on-on-off (alternating), so a linear drift of a shared machine cancels within
// a block; the variants take their blocks in a shuffled order each round. A block's difference is
// the mean of its two off steps minus its two on steps. Lavapipe's speed comes and goes in bursts
// (a step taking twice as long now and then), so the summary is the median of the blocks'
// differences with its distribution-free 95% interval (order statistics), not a mean and t.
// `together` switches every listed id off at once: what removing them all would cost.
import type { Engine } from '../src/engine/engine.js';
import { CONV_OPTIONS, CONV_ROWS, selectConv2d, setConvOff, type Conv2dPass } from '../src/engine/ops/conv2d.js';
import { convLayers, type NormKind } from '../src/model/seednet.js';
import { Trainer, DEFAULT_TRAIN_CONFIG } from '../src/train/trainer.js';
import { medianInterval, type MedianInterval } from '../src/stats/stats.js';
import { createRng } from '../src/check/rng.js';
import { syntheticDataset } from './step.js';

/** Rows that are the fallbacks themselves: switching them off leaves nothing, or only naive. */
const FALLBACKS = new Set(['naive', 'naive-generic', 'tiled']);

export interface VariantRow {
  input: string;
  norm: NormKind;
  /** A row or option id of the kernel table, or 'together' (every id of the run off at once). */
  id: string;
  /** The ids switched off in this arm. */
  off: string[];
  /** The layer passes of the step whose kernel or option changes when they are off. */
  changes: string[];
  /** Per block: the mean step with everything on and with the arm off (ms). */
  onMs: number[];
  offMs: number[];
}

export const TOGETHER = 'together';

/** The training step's layer passes whose choice differs with `ids` switched off (engine: a probe). */
export function variantChanges(engine: Engine, ids: string[], input: [number, number, number, number]): string[] {
  const changes: string[] = [];
  for (const l of convLayers({ classes: 10 }, input)) {
    const passes: Conv2dPass[] = l.inputGrad ? ['forward', 'input', 'weight'] : ['forward', 'weight'];
    for (const pass of passes) {
      setConvOff(engine, []);
      const on = selectConv2d(engine, l, pass);
      setConvOff(engine, ids);
      const off = selectConv2d(engine, l, pass);
      if (on.row.id !== off.row.id || [...on.options].join() !== [...off.options].join()) changes.push(`${l.name} ${pass}`);
    }
  }
  setConvOff(engine, []);
  return changes;
}

function shuffled<T>(xs: T[], rng: { next(): number }): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export interface VariantBenchOptions {
  batch: number;
  norms: NormKind[];
  inputs: { channels: number; size: number }[];
  /** Blocks per variant, norm and input (default 3). */
  rounds?: number;
  /** Only these ids (default: every specialised row and option). */
  ids?: string[];
  /** Also an arm with all of them off at once (default true when there are several). */
  together?: boolean;
  progress?: (line: string) => void;
}

export async function benchVariants(engine: Engine, o: VariantBenchOptions): Promise<VariantRow[]> {
  const rounds = o.rounds ?? 3;
  const ids = [
    ...CONV_ROWS.filter((r) => !FALLBACKS.has(r.id)).map((r) => r.id),
    ...CONV_OPTIONS.map((x) => x.id),
  ].filter((id) => !o.ids || o.ids.includes(id));
  const rows: VariantRow[] = [];
  const rng = createRng(20261203);
  for (const input of o.inputs) {
    const shape: [number, number, number, number] = [o.batch, input.channels, input.size, input.size];
    const arms = ids.map((id) => ({ id, off: [id] }));
    if ((o.together ?? true) && ids.length > 1) arms.push({ id: TOGETHER, off: ids });
    const live = arms.map((a) => ({ ...a, changes: variantChanges(engine, a.off, shape) })).filter((a) => a.changes.length > 0);
    const ds = syntheticDataset(input.channels, input.size, o.batch);
    const idx = Uint32Array.from({ length: o.batch }, (_, i) => i);
    for (const norm of o.norms) {
      const t = new Trainer(engine, ds, { ...DEFAULT_TRAIN_CONFIG, norm, batchSize: o.batch, evalBatchSize: o.batch });
      const times = new Map(live.map((a) => [a.id, { onMs: [] as number[], offMs: [] as number[] }]));
      const step = async (off: string[]): Promise<number> => {
        setConvOff(engine, off);
        const start = performance.now();
        t.step(idx, undefined);
        await engine.sync();
        return performance.now() - start;
      };
      try {
        // Untimed: compiles every arm's pipelines and fills the pool with every arm's buffer sizes.
        for (const a of live) await step(a.off);
        await step([]);
        for (let r = 0; r < rounds; r++) {
          for (const a of shuffled(live, rng)) {
            const onFirst = (r + live.indexOf(a)) % 2 === 0;
            const [x, y] = onFirst ? [[], a.off] : [a.off, []];
            const m = [await step(x), await step(y), await step(y), await step(x)];
            const on = onFirst ? (m[0]! + m[3]!) / 2 : (m[1]! + m[2]!) / 2;
            const off = onFirst ? (m[1]! + m[2]!) / 2 : (m[0]! + m[3]!) / 2;
            times.get(a.id)!.onMs.push(on);
            times.get(a.id)!.offMs.push(off);
          }
          o.progress?.(`variants ${input.channels}x${input.size}x${input.size} ${norm}: round ${r + 1}/${rounds}`);
        }
      } finally {
        setConvOff(engine, []);
        t.dispose();
      }
      for (const a of live) rows.push({ input: `${input.channels}x${input.size}x${input.size}`, norm, id: a.id, off: a.off, changes: a.changes, ...times.get(a.id)! });
    }
  }
  return rows;
}

export interface VariantVerdict {
  id: string;
  input: string;
  changes: string[];
  /** Over every norm's blocks: off - on, ms per step, median and its 95% interval. */
  savedMs: MedianInterval;
  /** The median step with everything on, over the same blocks. */
  onMedianMs: number;
  /** The interval lies above 0: it saves time in the step. */
  pays: boolean;
}

/** Pools each variant's blocks over the norms, per input. */
export function variantVerdicts(rows: VariantRow[]): VariantVerdict[] {
  const groups = new Map<string, VariantRow[]>();
  for (const r of rows) {
    const key = `${r.id}\u0000${r.input}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const on = g.flatMap((r) => r.onMs);
    const off = g.flatMap((r) => r.offMs);
    const savedMs = medianInterval(off.map((v, i) => v - on[i]!));
    return { id: g[0]!.id, input: g[0]!.input, changes: g[0]!.changes, savedMs, onMedianMs: medianInterval(on).median, pays: (savedMs.ci?.[0] ?? 0) > 0 };
  });
}
