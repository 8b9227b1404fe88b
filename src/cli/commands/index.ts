// Every normlab command, in the order `normlab --help` lists them.
import type { Command } from '../command.js';
import { compareCommand } from './compare.js';
import { reportCommand } from './report.js';
import { sweepCommand } from './sweep.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { predictCommand } from './predict.js';
import { summaryCommand } from './summary.js';
import { gradcheckCommand } from './gradcheck.js';
import { selftestCommand } from './selftest.js';
import { explainCommand } from './explain.js';
import { exerciseCommand } from './exercise.js';
import { infoCommand } from './info.js';
import { downloadCommand } from './download.js';
import { benchCommand } from './bench.js';
import { serveCommand } from './serve.js';

export const commands: Command[] = [
  compareCommand,
  reportCommand,
  sweepCommand,
  trainCommand,
  evalCommand,
  predictCommand,
  summaryCommand,
  gradcheckCommand,
  selftestCommand,
  explainCommand,
  exerciseCommand,
  infoCommand,
  downloadCommand,
  benchCommand,
  serveCommand,
];
