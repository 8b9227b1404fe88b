// normlab selftest: the kernels' conformance on the current adapter (choose it with --adapter),
// without a test runner or Python: the convolution families as selected and forced, the gradient
// checks, and SeedNet steps against the recorded lavapipe trajectory. Exit 1 when a check fails.
import { Engine } from '../../engine/engine.js';
import { UsageError } from '../../engine/errors.js';
import { SELFTEST_GROUPS, selftest, type SelfCheck, type SelftestGroup } from '../../check/selftest.js';
import { TRAJECTORY_RTOL } from '../../check/trajectory.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { adapterReport } from './info.js';
import { bool, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

function parseGroups(spec: string | undefined): SelftestGroup[] | undefined {
  if (spec === undefined) return undefined;
  const groups = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const g of groups) if (!(SELFTEST_GROUPS as readonly string[]).includes(g)) throw new UsageError(`--only: no group '${g}' (groups: ${SELFTEST_GROUPS.join(', ')})`);
  if (groups.length === 0) throw new UsageError(`--only: name at least one group (${SELFTEST_GROUPS.join(', ')})`);
  return groups as SelftestGroup[];
}

const sci = (v: number | null) => (v === null ? '-' : v === Infinity ? 'inf' : v.toExponential(1));

export const selftestCommand: Command = {
  name: 'selftest',
  summary: "check every kernel path on this adapter against the float64 references and lavapipe's recorded training steps",
  usage: 'normlab selftest [--quick] [--only GROUPS] [--json] [--out FILE] [--adapter NAME]',
  flags: [
    { name: 'quick', type: 'bool', help: "SeedNet's shapes and five odd ones, the norm and conv gradient checks, two norms' steps (about a third of the time)" },
    { name: 'only', type: 'string', metavar: 'GROUPS', help: `run only these groups, comma-separated: ${SELFTEST_GROUPS.join(', ')}` },
    { name: 'json', type: 'bool', help: 'print the result as JSON (progress goes to stderr)' },
    { name: 'out', type: 'string', metavar: 'FILE', help: 'also write the result as JSON to FILE' },
    { name: 'record-trajectory', type: 'string', metavar: 'FILE', help: 'write the training steps as the reference trajectory (done on lavapipe, committed as src/check/trajectory-lavapipe.json)' },
  ],
  details:
    'Groups: subgroups (the subgroup plan and its probe), conv (every convolution shape with the\n' +
    'kernels the table picks here and with each family forced, against the float64 reference, 1e-4\n' +
    'relative), conv-off (each row and option switched off: its fallback), gradcheck (every op\'s\n' +
    'gradient check), naive (norm and conv gradient checks on the naive kernels), training (SeedNet\n' +
    `steps per norm against lavapipe's recorded losses and weight norms, ${TRAJECTORY_RTOL} relative).\n` +
    'Run it under each driver with `npm run test:adapters`.',
  async run(args: ParsedArgs) {
    const groups = parseGroups(str(args, 'only'));
    const json = bool(args, 'json');
    const file = str(args, 'out');
    const recordFile = str(args, 'record-trajectory');
    const say = json ? out.err : out.line;
    const engine = await Engine.create();
    const t0 = performance.now();
    try {
      const report = await adapterReport(engine);
      say(`selftest on ${engine.adapterInfo.description || engine.adapterInfo.device}; subgroups: ${engine.subgroups.lanes > 0 ? `${engine.subgroups.lanes} lanes` : 'not used'} (${engine.subgroups.reason})`);
      let recorded: unknown = null;
      const checks = await selftest(engine, {
        quick: bool(args, 'quick'),
        groups: recordFile ? ['training'] : groups,
        record: recordFile ? (t) => (recorded = t) : undefined,
        onCheck: (c: SelfCheck) => say(`${c.pass ? 'ok  ' : 'FAIL'} ${c.group.padEnd(9)} ${c.name}  ${c.err === null ? '' : `err ${sci(c.err)}${c.tol === null ? '' : ` <= ${sci(c.tol)}`}  `}${c.pass && c.group !== 'subgroups' ? '' : c.detail}`),
      });
      if (recordFile && recorded) writeFileAtomic(recordFile, `${JSON.stringify(recorded, null, 1)}\n`);
      const failed = checks.filter((c) => !c.pass);
      const byGroup: Record<string, { passed: number; failed: number }> = {};
      for (const c of checks) {
        const g = (byGroup[c.group] ??= { passed: 0, failed: 0 });
        if (c.pass) g.passed++;
        else g.failed++;
      }
      const seconds = (performance.now() - t0) / 1000;
      const result = { adapter: report.adapter, obtainedVia: report.obtainedVia, subgroups: { ...report.subgroups }, quick: bool(args, 'quick'), passed: checks.length - failed.length, failed: failed.length, groups: byGroup, seconds: Math.round(seconds), checks };
      if (file) writeFileAtomic(file, `${JSON.stringify(result, null, 1)}\n`);
      if (json) out.line(JSON.stringify(result, null, 1));
      say(`\n${checks.length - failed.length} of ${checks.length} checks passed in ${seconds.toFixed(0)} s (${Object.entries(byGroup).map(([g, v]) => `${g} ${v.passed}${v.failed ? `, ${v.failed} FAILED` : ''}`).join('; ')})`);
      for (const c of failed) say(`  FAILED ${c.group}: ${c.name}: ${c.detail}`);
      return failed.length === 0 ? 0 : 1;
    } finally {
      engine.destroy();
    }
  },
};
