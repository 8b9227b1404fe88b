/// <reference types="@webgpu/types" preserve="true" />
// normlab as a library, in Node: `import { Engine, Trainer, sequential, block } from 'normlab'`.
// Everything of src/api/common.ts, plus reading datasets and writing checkpoints on disk.
export * from './api/common.js';
export { loadDataset, detectFormat, type DatasetFormat } from './train/data/load.js';
export { saveModel, loadModel, saveCheckpoint, readCheckpoint } from './model/checkpoint-files.js';
export { NORMLAB_VERSION } from './version.js';
