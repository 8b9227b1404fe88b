#!/usr/bin/env node
// npm run test:adapters: `normlab selftest` under every Vulkan driver this machine offers, one
// process each (the driver is chosen once per process), plus lavapipe with its subgroup kernels
// unpinned and switched off (the fallbacks of src/engine/subgroups.ts). Writes
// runs/selftest/<name>.json and prints one line per run; exit 1 if any check failed.
//   node scripts/test-adapters.mjs [--quick] [--only NAME,NAME]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const RUNS = [
  { name: 'lavapipe', adapter: 'lavapipe8', what: 'lavapipe, 8 lanes (the default)' },
  { name: 'lavapipe4', adapter: 'lavapipe4', what: 'lavapipe, 4 lanes: the subgroup-free kernels' },
  { name: 'lavapipe16', adapter: 'lavapipe16', what: 'lavapipe, 16 lanes' },
  { name: 'swiftshader', adapter: 'swiftshader', what: 'SwiftShader (4 lanes), as in Chromium', needs: '/usr/lib/chromium/vk_swiftshader_icd.json' },
  { name: 'lavapipe-unpinned', adapter: 'lavapipe8', env: { NORMLAB_SUBGROUPS: 'unpinned' }, what: 'lavapipe, 8 lanes, without @subgroup_size' },
  { name: 'lavapipe-nosubgroups', adapter: 'lavapipe8', env: { NORMLAB_SUBGROUPS: 'off' }, what: 'lavapipe, subgroup kernels off' },
];

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log('usage: node scripts/test-adapters.mjs [--quick] [--only NAME,...]\nruns: ' + RUNS.map((r) => `${r.name} (${r.what})`).join('; '));
  process.exit(0);
}
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',')) : null;
for (const n of only ?? []) if (!RUNS.some((r) => r.name === n)) { console.error(`test:adapters: no run '${n}' (runs: ${RUNS.map((r) => r.name).join(', ')})`); process.exit(2); }
if (!existsSync('dist/normlab.js')) { console.error('test:adapters: build first (node build.mjs --no-web)'); process.exit(2); }
mkdirSync('runs/selftest', { recursive: true });

const results = [];
for (const r of RUNS) {
  if (only && !only.has(r.name)) continue;
  if (r.needs && !existsSync(r.needs)) { results.push({ ...r, skipped: `${r.needs} is missing` }); console.log(`-- ${r.name}: skipped (${r.needs} is missing)`); continue; }
  const out = `runs/selftest/${r.name}.json`;
  const args = ['bin/normlab.js', 'selftest', '--adapter', r.adapter, '--out', out, ...(quick ? ['--quick'] : [])];
  console.log(`-- ${r.name}: ${r.what}: normlab ${args.slice(1).join(' ')}${r.env ? ` (${Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`);
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...r.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Progress: the failures as they come, and a dot every 25 checks.
    let n = 0;
    child.stdout.on('data', (d) => {
      for (const line of String(d).split('\n')) {
        if (line.startsWith('FAIL')) process.stdout.write(`\n   ${line}\n`);
        else if (line.startsWith('ok') && ++n % 25 === 0) process.stdout.write('.');
      }
    });
    child.stderr.on('data', (d) => { for (const l of String(d).split('\n')) if (l && !l.startsWith('Warning: max')) process.stderr.write(`   ${l}\n`); });
    child.on('close', resolve);
  });
  const report = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : null;
  const s = (Date.now() - t0) / 1000;
  results.push({ ...r, code, report, s });
  console.log(report ? `\n   ${report.passed} passed, ${report.failed} failed in ${s.toFixed(0)} s; subgroups: ${report.subgroups.why}` : `\n   no result (exit ${code})`);
}

console.log('\nrun                    passed  failed    time  subgroup kernels');
for (const r of results) {
  if (r.skipped) { console.log(`${r.name.padEnd(22)} skipped: ${r.skipped}`); continue; }
  const p = r.report;
  console.log(`${r.name.padEnd(22)} ${String(p?.passed ?? '-').padStart(6)}  ${String(p?.failed ?? '-').padStart(6)}  ${`${r.s.toFixed(0)} s`.padStart(6)}  ${p ? (p.subgroups.convolutionLanes > 0 ? `${p.subgroups.convolutionLanes} lanes${p.subgroups.pinned ? ', pinned' : ''}` : 'not used') : `exit ${r.code}`}`);
}
process.exit(results.every((r) => r.skipped || (r.code === 0 && r.report?.failed === 0)) ? 0 : 1);
