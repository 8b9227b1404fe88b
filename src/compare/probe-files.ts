// Reading a run's probes file from disk (the parsing is src/train/probe-records.ts's, which the
// browser bundle shares; this file is Node's).
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../engine/errors.js';
import { parseProbeCsv, type ProbeStep } from '../train/probe-records.js';

export function readProbeCsv(path: string): ProbeStep[] {
  if (!existsSync(path)) throw new UserError(`${path}: no such probes file`);
  return parseProbeCsv(readFileSync(path, 'utf8'), path);
}
