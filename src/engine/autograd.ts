// A tape autograd in PyTorch's vocabulary. Each op records a GradNode on its output: the inputs
// and a backward rule that maps the output's gradient to the inputs' gradients (see ops/*.ts, where
// each rule sits right below its forward). backward() sorts the graph without recursion, walks it
// in reverse, sums gradients that meet, and frees the graph unless asked to retain it.
import { Tensor, installBackward } from './tensor.js';
import type { Kernel } from './engine.js';
import { workgroups1d } from './engine.js';
import accumulateWgsl from '../shaders/accumulate.wgsl';
import fillWgsl from '../shaders/fill.wgsl';

export type BackwardRule = (gradOut: Tensor) => (Tensor | null)[];

export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** null once the graph has been freed by a backward() without retainGraph. */
  backward: BackwardRule | null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Called by every op after its forward: attaches the backward rule to the output when gradients are
 * being recorded and some input needs one. Returns the output for chaining.
 */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: BackwardRule): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

const ACCUMULATE: Kernel = { name: 'accumulate', code: accumulateWgsl };
const FILL: Kernel = { name: 'fill', code: fillWgsl };
const WG = 256;

/** target += source, elementwise, in place on the GPU. */
export function accumulateInto(target: Tensor, source: Tensor): void {
  if (target.size !== source.size) throw new Error(`accumulate: ${target} and ${source} differ in size`);
  target.engine.dispatch(ACCUMULATE, {
    constants: { WG, N: target.size },
    bindings: [target, source],
    workgroups: workgroups1d(target.size, WG),
  });
}

/** A new tensor filled with one value. */
export function full(like: { engine: Tensor['engine']; shape: readonly number[] }, value: number, label = 'full'): Tensor {
  const t = like.engine.empty(like.shape, 'f32', label);
  like.engine.dispatch(FILL, { constants: { WG, N: t.size, VALUE: value }, bindings: [t], workgroups: workgroups1d(t.size, WG) });
  return t;
}

/** Nodes reachable from root, inputs before the ops that consume them (iterative DFS). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; expanded: boolean }[] = [{ t: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.t);
      continue;
    }
    if (visited.has(top.t)) continue;
    visited.add(top.t);
    stack.push({ t: top.t, expanded: true });
    for (const input of top.t.node?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push({ t: input, expanded: false });
    }
  }
  return order;
}

function backward(root: Tensor, gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
  if (!root.requiresGrad) throw new Error(`backward(): ${root} does not require grad (no input of its graph has requiresGrad)`);
  if (root.node && root.node.backward === null) {
    throw new Error(
      `backward(): the graph of ${root} was already freed by a previous backward(). ` +
        'Pass { retainGraph: true } to the first backward() to run backward twice.',
    );
  }
  let seed: Tensor;
  if (gradient) {
    if (gradient.size !== root.size) throw new Error(`backward(): gradient ${gradient} does not match ${root}`);
    seed = gradient;
  } else {
    if (root.size !== 1) throw new Error(`backward(): ${root} is not a scalar; pass the gradient of the output`);
    seed = full(root, 1, 'grad seed');
  }
  const engine = root.engine;
  const ownedSeed = !gradient;
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const order = topoOrder(root);

  const deliver = (input: Tensor, g: Tensor): void => {
    if (!input.node) {
      // A leaf: its gradient outlives every tidy() and accumulates across backward() calls.
      if (input.grad) {
        accumulateInto(input.grad, g);
        g.dispose();
      } else {
        input.grad = engine.keep(g);
      }
      return;
    }
    const existing = grads.get(input);
    if (existing) {
      accumulateInto(existing, g);
      g.dispose();
    } else grads.set(input, g);
  };

  if (!root.node) {
    // backward() on a leaf itself: its gradient is the seed.
    deliver(root, ownedSeed ? seed : copyOf(seed));
    return;
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    const node = t.node;
    const g = grads.get(t);
    if (!node || !g) continue;
    grads.delete(t);
    if (!node.backward) throw new Error(`backward(): the graph through '${node.op}' was already freed by a previous backward()`);
    const inputGrads = node.backward(g);
    const handedOn = new Set<Tensor>();
    node.inputs.forEach((input, k) => {
      let gi = inputGrads[k] ?? null;
      if (!gi || !input.requiresGrad) {
        if (gi && gi !== g && !handedOn.has(gi)) gi.dispose();
        return;
      }
      // A rule may pass its incoming gradient straight through (add); each input must own its own.
      if (handedOn.has(gi) || (gi === g && !(t === root ? ownedSeed : true))) gi = copyOf(gi);
      handedOn.add(gi);
      deliver(input, gi);
    });
    if (!handedOn.has(g) && (t !== root || ownedSeed)) g.dispose();
    if (!options.retainGraph) node.backward = null;
  }
}

function copyOf(t: Tensor): Tensor {
  const c = t.engine.empty(t.shape, t.dtype, `${t.label} (copy)`);
  t.engine.copy(t, c, t.bytes);
  return c;
}

installBackward(backward);
