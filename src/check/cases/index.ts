// Every registered gradient case, family by family, for `normlab gradcheck` and the test gate.
// A new op family adds its list here.
import type { GradCase } from '../types.js';
import { elementwiseCases } from './elementwise.js';
import { poolCases } from './pool.js';
import { lossCases } from './loss.js';
import { normCases } from './norm.js';
import { convCases } from './conv2d.js';

export const allCases: GradCase[] = [...elementwiseCases, ...poolCases, ...lossCases, ...normCases, ...convCases];
