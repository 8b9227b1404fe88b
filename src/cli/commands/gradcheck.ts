// normlab gradcheck: every registered op's gradient check on the current adapter, one row per
// (op, input it differentiates). Exit code 1 when any row fails, so CI can gate on it.
import { Engine } from '../../engine/engine.js';
import { UsageError } from '../../engine/errors.js';
import { allCases } from '../../check/cases/index.js';
import { RUNNER_TOLERANCES, runAll, type GradRow } from '../../check/gradcheck.js';
import type { GradCase } from '../../check/types.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

/** The terminal width the table and its notes are laid out for. */
export const TABLE_WIDTH = 100;

/** Errors and tolerances in at most 7 characters: 2.4e-7, 1.2e-10, 0, -. */
function sci(v: number): string {
  if (Number.isNaN(v)) return '-';
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v.toExponential(1).replace('e+', 'e');
}

/** A tolerance as its author most likely wrote it: 1e-2 rather than 1.0e-2, 3.5e-3 kept. */
function tol(v: number): string {
  const one = v.toExponential(0);
  return (Number(one) === v ? one : v.toExponential(1)).replace('e+', 'e');
}

interface Column {
  head: string;
  right: boolean;
  cell: (r: GradRow) => string;
  /** Spaces before the column: the right-aligned numbers need only one to stay apart. */
  gap?: number;
}

const COLUMNS: Column[] = [
  { head: 'op', right: false, cell: (r) => r.op, gap: 0 },
  { head: 'wrt', right: false, cell: (r) => r.wrt, gap: 2 },
  { head: 'checked', right: true, cell: (r) => `${r.checked}/${r.size}`, gap: 2 },
  { head: 'abs err', right: true, cell: (r) => sci(r.maxAbsErr) },
  { head: 'rel err', right: true, cell: (r) => sci(r.maxRelErr) },
  { head: 'eps', right: true, cell: (r) => tol(r.eps) },
  { head: 'atol', right: true, cell: (r) => tol(r.atol) },
  { head: 'rtol', right: true, cell: (r) => tol(r.rtol) },
  { head: 'f64 ref', right: true, cell: (r) => sci(r.refMaxRelErr) },
  { head: 'vs f64', right: true, cell: (r) => sci(worst(r.fwdMaxRelErr, r.gradVsRefMaxRelErr)) },
  { head: 'pass', right: false, cell: (r) => (r.pass ? 'ok' : 'FAIL') },
];

function worst(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

/** The table, its legend and, for failing rows, why they failed; every line fits TABLE_WIDTH. */
export function formatTable(rows: readonly GradRow[]): string[] {
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, ...cells.map((row) => row[i]!.length)));
  // Only the op name gives way when the table is too wide: the numbers must stay whole.
  const gaps = COLUMNS.map((c) => c.gap ?? 1);
  const total = widths.reduce((a, b) => a + b, 0) + gaps.reduce((a, b) => a + b, 0);
  if (total > TABLE_WIDTH) widths[0] = Math.max(COLUMNS[0]!.head.length, widths[0]! - (total - TABLE_WIDTH));
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const w = widths[i]!;
        const fitted = v.length > w ? `${v.slice(0, w - 1)}~` : v;
        return ' '.repeat(gaps[i]!) + (COLUMNS[i]!.right ? fitted.padStart(w) : fitted.padEnd(w));
      })
      .join('')
      .trimEnd();
  const t = RUNNER_TOLERANCES;
  const lines = [line(COLUMNS.map((c) => c.head)), ...cells.map(line), ''];
  lines.push(
    'abs err, rel err  GPU backward vs central differences of the GPU forward (float32) through a random',
    '                  projection r of the output; a row needs |analytic-numeric| <= atol+rtol*|numeric|',
    '                  on every checked element',
    `f64 ref           float64 reference backward vs float64 central differences (step ${tol(t.referenceStep)}),`,
    `                  max rel err; needs |diff| <= ${tol(t.referenceRtol)}*|numeric| + a float64 rounding bound`,
    `vs f64            GPU forward and GPU gradient vs the float64 reference, max rel err; needs <= ${tol(t.vsReferenceRtol)}`,
    `relative errors   |error| / max(|exact|, ${t.relativeErrorFloor}*max|exact|); exact: numeric or reference values`,
  );
  const failed = rows.filter((r) => !r.pass);
  lines.push('', `${rows.length} ${rows.length === 1 ? 'row' : 'rows'}, ${rows.length - failed.length} pass, ${failed.length} fail`);
  for (const r of failed) {
    for (const f of r.failures) lines.push(...wrap(`${r.op} / ${r.wrt}: ${f}`, '    '));
  }
  return lines;
}

/** Greedy word wrap to TABLE_WIDTH; continuation lines get `indent`. */
function wrap(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    const candidate = current ? `${current} ${word}` : lines.length ? `${indent}${word}` : word;
    if (candidate.length > TABLE_WIDTH && current.trim()) {
      lines.push(current);
      current = `${indent}${word}`;
    } else current = candidate;
  }
  if (current) lines.push(current);
  return lines.flatMap((l) => (l.length <= TABLE_WIDTH ? [l] : chop(l, indent)));
}

/** Splits a line with one word longer than the width (a long regex, say). */
function chop(l: string, indent: string): string[] {
  const parts = [l.slice(0, TABLE_WIDTH)];
  for (let i = TABLE_WIDTH; i < l.length; i += TABLE_WIDTH - indent.length) parts.push(indent + l.slice(i, i + TABLE_WIDTH - indent.length));
  return parts;
}

function selectCases(cases: readonly GradCase[], pattern: string | undefined): { cases: GradCase[]; only?: RegExp } {
  if (pattern === undefined) return { cases: [...cases] };
  let only: RegExp;
  try {
    only = new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`--only: '${pattern}' is not a valid regular expression (${(e as Error).message})`);
  }
  const selected = cases.filter((c) => only.test(c.op));
  if (selected.length === 0) {
    const names = [...new Set(cases.map((c) => c.op))].join(', ') || '(none registered)';
    throw new UsageError(`--only: '${pattern}' matches no op; ops: ${names}`);
  }
  return { cases: selected, only };
}

export const gradcheckCommand: Command = {
  name: 'gradcheck',
  summary: "check every op's backward against finite differences and a float64 reference",
  usage: 'normlab gradcheck [--json] [--only PATTERN] [--seed N]',
  flags: [
    { name: 'json', type: 'bool', help: 'print the rows as a JSON array' },
    { name: 'only', type: 'string', metavar: 'PATTERN', help: 'check only ops whose name matches this regular expression' },
    { name: 'seed', type: 'int', min: 0, max: 2 ** 32 - 1, default: 1, metavar: 'N', help: 'seed of the random inputs and projections' },
  ],
  details:
    'Each op checks each input it differentiates three ways: its GPU backward against central\n' +
    'differences of its GPU forward (float32, with the eps and tolerances the op states and\n' +
    'justifies), its float64 reference backward against float64 central differences, and its GPU\n' +
    'forward and gradient against the float64 reference. Exit code 1 when any row fails.',
  async run(args: ParsedArgs) {
    const seed = num(args, 'seed');
    const { cases } = selectCases(allCases, str(args, 'only'));
    const engine = await Engine.create();
    try {
      const rows = await runAll(engine, cases, { seed });
      if (bool(args, 'json')) out.line(JSON.stringify(rows, null, 2));
      else {
        const adapter = engine.adapterInfo.description || engine.adapterInfo.device || 'unknown adapter';
        out.line(`gradcheck on ${adapter}, seed ${seed}`.slice(0, TABLE_WIDTH));
        out.line();
        for (const l of formatTable(rows)) out.line(l);
      }
      return rows.every((r) => r.pass) ? 0 : 1;
    } finally {
      engine.destroy();
    }
  },
};
