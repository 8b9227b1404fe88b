// Writing a comparison's report from its directories. When the report goes somewhere other than
// its one source directory, the runs' files are copied there with a manifest of their own, so the
// output is itself a comparison directory that `normlab report` can merge again.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { Dataset } from '../train/data/dataset.js';
import type { ComparisonResult } from '../report/types.js';
import { writeReport } from '../report/report.js';
import { MANIFEST_FILE, resultsPath, writeManifest } from './comparison-dir.js';
import { mergeComparisons, type LoadedComparison } from './merge.js';
import { readProbeCsv } from './probe-files.js';
import { probeReading, type ProbeRun } from '../report/probe-report.js';
import { namer } from '../report/verdicts.js';
import { groupsOf } from '../report/reading.js';

export function writeComparisonReport(out: string, loaded: readonly LoadedComparison[], ds: Dataset, misclassified: number): { result: ComparisonResult; files: string[]; probeText: string } {
  const result = mergeComparisons(loaded, ds);
  const sources = loaded.map((c) => resolve(c.dir));
  const inPlace = sources.length === 1 && sources[0] === resolve(out);
  if (!inPlace) {
    if (existsSync(join(out, MANIFEST_FILE)) && !sources.includes(resolve(out))) {
      throw new UserError(`${out}: already holds another comparison; choose another --out`);
    }
    for (const c of loaded) {
      if (resolve(c.dir) === resolve(out)) continue;
      for (const r of c.records) {
        for (const rel of [r.predictions, r.checkpoint, resultsPath(r.norm, r.seed), r.probes?.file ?? ''].filter(Boolean)) {
          const from = join(c.dir, rel);
          if (!existsSync(from)) continue; // a checkpoint left behind on the machine that trained
          mkdirSync(dirname(join(out, rel)), { recursive: true });
          copyFileSync(from, join(out, rel));
        }
      }
    }
    const { format: _f, formatVersion: _v, ...first } = loaded[0]!.manifest;
    writeManifest(out, { ...first, norms: result.norms, seeds: result.seeds, startedAt: result.startedAt });
  }
  const probes = loadProbes(loaded);
  const { files } = writeReport(out, result, { misclassified, probes });
  // For the terminal, after the table: the reading of the probes, when the runs were probed.
  const probeText = probes.length ? ['', 'Inside the network (probes):', ...probeReading(probes, namer(groupsOf(result))).map((l) => `- ${l}`)].join('\n') : '';
  return { result, files, probeText };
}

/** The probe records of every probed run (a run whose probes file is missing is named in one line). */
export function loadProbes(loaded: readonly LoadedComparison[]): ProbeRun[] {
  return loaded.flatMap((c) =>
    c.records.filter((r) => r.probes && !r.diverged).map((r) => ({ norm: r.norm, seed: r.seed, steps: readProbeCsv(join(c.dir, r.probes!.file)), cost: r.probes! })),
  );
}
