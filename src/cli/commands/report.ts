// normlab report: one report from one or more comparison directories of the same recipe and dataset
// (seeds 0-4 here, 5-9 on another machine, or the array jobs of a cluster scheduler), with the
// statistics over all their seeds. Needs no GPU: it reads the runs' files and the dataset's test images.
import { join } from 'node:path';
import { loadComparisons, loadComparisonDataset } from '../../compare/merge.js';
import { writeComparisonReport } from '../../compare/publish.js';
import { markdownTable } from '../../report/report.js';
import { sweepSummaryText, writeSweepReport } from '../../report/sweep-report.js';
import { isSweepDir } from '../../compare/sweep.js';
import { loadSweeps } from '../../compare/sweep-merge.js';
import { UserError } from '../../engine/errors.js';
import { num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { DATA_FLAG } from '../train-flags.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'rebuild the report of one comparison or sweep directory, or merge several (seeds, shards) into one report',
  usage: 'normlab report DIR [DIR...] [--out DIR] [--data DIR]',
  positional: { name: 'DIR', help: 'comparison directories written by normlab compare, or sweep directories written by normlab sweep', min: 1, max: 1000 },
  flags: [
    { name: 'out', type: 'string', metavar: 'DIR', help: 'where the report goes (default: the directory itself when one is given, else runs/report-<timestamp>)' },
    { ...DATA_FLAG, help: "the dataset's directory, when it is not where the comparison read it (its test images are drawn in the report)" },
    { name: 'misclassified', type: 'int', min: 1, max: 200, default: 20, help: 'misclassified images per norm in the report' },
  ],
  details:
    'The directories must share the recipe, the dataset (checked by fingerprint) and the normlab version, and no (norm, seed) may ' +
    'come from two of them; each difference is refused in one line. A merged report goes into a new comparison directory with ' +
    'copies of every run\'s results, predictions and checkpoint, so it can be merged again.',
  async run(args: ParsedArgs) {
    const dirs = args.positional;
    const sweeps = dirs.filter(isSweepDir);
    if (sweeps.length && sweeps.length < dirs.length) throw new UserError(`${dirs.find((d) => !isSweepDir(d))}: a comparison, and ${sweeps[0]} a sweep; report them separately`);
    if (sweeps.length) {
      const dest = str(args, 'out') ?? (dirs.length === 1 ? dirs[0]! : join('runs', `report-${new Date().toISOString().replace(/[:.]/g, '-')}`));
      const { input } = loadSweeps(dirs, str(args, 'data'));
      const files = writeSweepReport(dest, input);
      const runs = input.sizes.reduce((a, s) => a + s.stats.runs.length + s.result.diverged.length, 0);
      process.stderr.write(`normlab report: a sweep of ${runs} of ${input.expectedRuns} runs from ${dirs.join(', ')}\n`);
      process.stderr.write(`Report: ${join(dest, 'report.html')} (${files.length} files)\n`);
      out.line(sweepSummaryText(input));
      return 0;
    }
    const loaded = loadComparisons(dirs);
    const dest = str(args, 'out') ?? (dirs.length === 1 ? dirs[0]! : join('runs', `report-${new Date().toISOString().replace(/[:.]/g, '-')}`));
    const ds = loadComparisonDataset(loaded[0]!.manifest, str(args, 'data'));
    const { result, files, probeText } = writeComparisonReport(dest, loaded, ds, num(args, 'misclassified'));
    process.stderr.write(`normlab report: ${result.runs.length} runs (${result.norms.join(', ')}; seeds ${result.seeds.join(', ')}) from ${dirs.join(', ')}\n`);
    process.stderr.write(`Report: ${join(dest, 'report.html')} (and report.md; ${files.length} files)\n`);
    out.line(markdownTable(result));
    if (probeText) out.line(probeText);
    return 0;
  },
};
