/// <reference types="@webgpu/types" preserve="true" />
// normlab as a library in a page (`import ... from 'normlab/browser'`, or what a bundler picks for
// 'normlab' with the browser condition): src/api/common.ts, without the Node-only file functions.
export * from './api/common.js';
export { NORMLAB_VERSION } from './version.js';
