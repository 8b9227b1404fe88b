// The part of the TensorFlow.js API the peer uses, typed here rather than imported: tfjs-core's
// own declarations pull in an older @webgpu/types (0.1.38, its dependency) that clashes with the
// one normlab compiles against, and the peer must type-check where tfjs is not installed.

export interface TfTensor {
  readonly shape: number[];
  readonly size: number;
  readonly rank: number;
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}

export interface TfVariable extends TfTensor {
  readonly name: string;
  assign(value: TfTensor): void;
}

type Operand = TfTensor | number;
type Padding = 'same' | 'valid';

export interface Tfjs {
  version_core: string;
  setBackend(name: string): Promise<boolean>;
  memory(): { numTensors: number };
  tidy<T extends TfTensor | void>(fn: () => T): T;
  dispose(tensors: TfTensor[]): void;
  engine(): { runKernel(kernel: string, inputs: Record<string, TfTensor>, attrs: Record<string, unknown>): TfTensor };
  variable(initial: TfTensor, trainable?: boolean): TfVariable;
  variableGrads(f: () => TfTensor, vars: TfVariable[]): { value: TfTensor; grads: Record<string, TfTensor> };

  randomNormal(shape: number[]): TfTensor;
  randomUniform(shape: number[], min: number, max: number): TfTensor;
  zeros(shape: number[]): TfTensor;
  ones(shape: number[]): TfTensor;
  zerosLike(t: TfTensor): TfTensor;
  tensor1d(values: number[], dtype: 'int32' | 'float32'): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  slice(t: TfTensor, begin: number[], size: number[]): TfTensor;
  reshape(t: TfTensor, shape: number[]): TfTensor;

  conv2d(x: TfTensor, filter: TfTensor, strides: number, pad: Padding): TfTensor;
  conv2dTranspose(dy: TfTensor, filter: TfTensor, outputShape: number[], strides: number, pad: Padding): TfTensor;
  maxPool(x: TfTensor, filterSize: number, strides: number, pad: Padding): TfTensor;
  moments(x: TfTensor, axes: number[], keepDims?: boolean): { mean: TfTensor; variance: TfTensor };
  batchNorm(x: TfTensor, mean: TfTensor, variance: TfTensor, offset: TfTensor, scale: TfTensor, eps: number): TfTensor;
  mean(x: TfTensor, axes?: number | number[], keepDims?: boolean): TfTensor;
  sum(x: TfTensor, axes?: number | number[]): TfTensor;
  add(a: TfTensor, b: Operand): TfTensor;
  sub(a: TfTensor, b: Operand): TfTensor;
  mul(a: TfTensor, b: Operand): TfTensor;
  div(a: TfTensor, b: Operand): TfTensor;
  sqrt(x: TfTensor): TfTensor;
  relu(x: TfTensor): TfTensor;
  neg(x: TfTensor): TfTensor;
  logSoftmax(x: TfTensor): TfTensor;
}
