// Every op family. Each file holds forward calls with their backward rules beside them.
export { add, relu } from './elementwise.js';
export { reshape } from './shape.js';
