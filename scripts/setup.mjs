#!/usr/bin/env node
// Idempotent set-up step run first by `npm start` and `npm test`. Plain Node ESM with only
// built-in imports: it has to run before node_modules exists.
//
//   a. node_modules present and matching package-lock.json, else `npm ci`;
//   b. a WebGPU adapter (Dawn, through the `webgpu` package) can be opened;
//   c. if not, on Debian bookworm: libvulkan1 + mesa-vulkan-drivers from bookworm-backports
//      (Dawn refuses bookworm's Mesa 22), on the mirror this machine already uses for bookworm;
//   d. the Fashion-MNIST IDX files are present, else Debian package dataset-fashion-mnist;
//   e. with --browser (the browser tests): Chromium, else Debian package chromium.
//
// Flags: --quiet (only actions and problems), --no-dataset (skip d), --browser (add e), --help.
// Environment (for testing the install path without changing the machine):
//   NORMLAB_SETUP_DRY_RUN=1           print the commands / files it would run / write instead
//   NORMLAB_SETUP_FORCE_NO_ADAPTER=1  act as if no WebGPU adapter were found
//   NORMLAB_SETUP_APT_DIR=DIR         read (and write) APT sources under DIR instead of /etc/apt
// Exit status: 0 all good, 1 something is missing that this script cannot (or may not) fix.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backportsFiles, backportsStanza, findBookwormSource } from './apt-sources.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADAPTER_TIMEOUT_MS = 60_000;
const ADAPTER_MARK = 'NORMLAB_ADAPTER ';
const VULKAN_PACKAGES = ['libvulkan1', 'mesa-vulkan-drivers'];
const DATASET_PACKAGE = 'dataset-fashion-mnist';
const CHROMIUM_PACKAGE = 'chromium';
// test/browser/ launches this one (NORMLAB_CHROMIUM overrides it there and here).
const CHROMIUM_PATH = process.env.NORMLAB_CHROMIUM || '/usr/bin/chromium';
const DATASET_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const DATASET_LOCAL_DIR = path.join(ROOT, 'data', 'fashion-mnist');
const DATASET_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];
// NORMLAB_SETUP_APT_DIR (testing only) reads APT sources from a copy of /etc/apt instead.
const APT_DIR = process.env.NORMLAB_SETUP_APT_DIR || '/etc/apt';
const BACKPORTS_FILE = path.join(APT_DIR, 'sources.list.d', 'normlab-backports.sources');

const USAGE = `usage: node scripts/setup.mjs [--quiet] [--no-dataset] [--browser] [--help]

Checks (and where possible fixes) what normlab needs: node_modules, a WebGPU adapter
(on Debian bookworm: Mesa >= 24 Vulkan driver from bookworm-backports) and the
Fashion-MNIST dataset. Safe to run repeatedly; quick when everything is present.

  --quiet        print only actions taken and problems
  --no-dataset   do not check for / install the Fashion-MNIST dataset
  --browser      also Chromium, for the browser tests (Debian package chromium)
  --help         show this help

Environment: NORMLAB_SETUP_DRY_RUN=1 prints system changes instead of making them;
NORMLAB_SETUP_FORCE_NO_ADAPTER=1 behaves as if no WebGPU adapter were found.`;

/** A problem this script cannot fix by itself: message (+ optional hint lines), exit 1. */
class SetupError extends Error {
  /** @param {string} message @param {string[]} [hint] */
  constructor(message, hint = []) {
    super(message);
    this.hint = hint;
  }
}

// ---------------------------------------------------------------------------------------------
// output

const out = {
  quiet: false,
  /** routine check results; hidden by --quiet */
  info(/** @type {string} */ msg) {
    if (!this.quiet) console.log(`setup: ${msg}`);
  },
  /** something done (or to be done) to the machine / project */
  action(/** @type {string} */ msg) {
    console.log(`setup: ${msg}`);
  },
  problem(/** @type {string} */ msg) {
    console.error(`setup: ${msg}`);
  },
};

// ---------------------------------------------------------------------------------------------
// small helpers

/** @param {string} name */
function envFlag(name) {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** @param {string} p */
function readTextOrNull(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** @param {string} p */
function readJsonOrNull(p) {
  const t = readTextOrNull(p);
  if (t === null) return null;
  try {
    return JSON.parse(t);
  } catch {
    return null;
  }
}

/** @param {string} p */
function mtimeOrNull(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return null;
  }
}

/** Shell-quotes one argument for display. @param {string} s */
function shq(s) {
  return /^[A-Za-z0-9_./=:+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a command with inherited stdout/stderr (no stdin: CI has none). Throws on failure.
 * @param {string} cmd @param {string[]} args @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [opts]
 */
function runInherit(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    shell: process.platform === 'win32', // npm is npm.cmd there
  });
  if (r.error) throw new SetupError(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit code ${r.status}`;
    throw new SetupError(`\`${[cmd, ...args].map(shq).join(' ')}\` failed (${how})`);
  }
}

/** /etc/os-release as a key → value map (empty when unreadable). */
function osRelease() {
  /** @type {Record<string, string>} */
  const rel = {};
  const text = readTextOrNull('/etc/os-release') ?? readTextOrNull('/usr/lib/os-release') ?? '';
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) rel[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return rel;
}

function isDebianBookworm() {
  const rel = osRelease();
  return rel.ID === 'debian' && rel.VERSION_CODENAME === 'bookworm';
}

function hasAptGet() {
  const r = spawnSync('apt-get', ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function isDebianLike() {
  const rel = osRelease();
  const family = `${rel.ID ?? ''} ${rel.ID_LIKE ?? ''}`.split(/\s+/);
  return family.includes('debian') && hasAptGet();
}

// ---------------------------------------------------------------------------------------------
// system changes: executed as root, printed in dry-run mode, collected as sudo commands otherwise

class SystemChanges {
  constructor() {
    this.isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    this.dryRun = envFlag('NORMLAB_SETUP_DRY_RUN');
    this.aptUpdated = false;
    /** @type {string[]} shell lines the user must run with sudo (non-root only) */
    this.sudoLines = [];
  }

  /** Whether changes are really made (root, not a dry run). */
  get live() {
    return this.isRoot && !this.dryRun;
  }

  /** @param {string} file @param {string} text */
  writeFile(file, text) {
    if (!this.isRoot) {
      this.sudoLines.push(`sudo tee ${shq(file)} >/dev/null <<'EOF'\n${text}EOF`);
    } else if (this.dryRun) {
      out.action(`[dry run] would write ${file}:`);
      for (const line of text.trimEnd().split('\n')) out.action(`[dry run]   | ${line}`);
    } else {
      out.action(`writing ${file}`);
      fs.writeFileSync(file, text, { mode: 0o644 });
    }
  }

  /** @param {string[]} argv @param {Record<string, string>} [env] */
  run(argv, env = {}) {
    const envWords = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`);
    const shown = [...envWords, ...argv.map(shq)].join(' ');
    if (!this.isRoot) {
      this.sudoLines.push(envWords.length > 0 ? `sudo env ${shown}` : `sudo ${shown}`);
    } else if (this.dryRun) {
      out.action(`[dry run] would run: ${shown}`);
    } else {
      out.action(`running: ${shown}`);
      runInherit(argv[0], argv.slice(1), { env: { ...process.env, ...env } });
    }
  }

  /** `apt-get update`, at most once per invocation. */
  aptUpdate() {
    if (this.aptUpdated) return;
    this.aptUpdated = true;
    this.run(['apt-get', 'update']);
  }

  /** @param {string[]} packages @param {string | null} [targetRelease] */
  aptInstall(packages, targetRelease = null) {
    this.aptUpdate();
    const t = targetRelease ? ['-t', targetRelease] : [];
    this.run(['apt-get', 'install', '-y', ...t, ...packages], { DEBIAN_FRONTEND: 'noninteractive' });
  }

  /** Non-root: print what to run with sudo and fail. */
  finish() {
    if (this.sudoLines.length === 0) return;
    throw new SetupError('system packages are missing and this is not root; run as root:', [
      ...this.sudoLines,
      'then run this set-up again (npm test / npm start / node scripts/setup.mjs).',
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
// a. node_modules

/** Why node_modules needs `npm ci`, or null when it is up to date. */
function nodeModulesProblem() {
  const nm = path.join(ROOT, 'node_modules');
  if (!fs.existsSync(nm)) return 'node_modules is missing';
  const lockPath = path.join(ROOT, 'package-lock.json');
  const lock = readJsonOrNull(lockPath);
  if (lock === null) return 'package-lock.json is missing or unreadable';
  const hiddenPath = path.join(nm, '.package-lock.json');
  const hidden = readJsonOrNull(hiddenPath);
  if (hidden === null) return 'node_modules/.package-lock.json is missing (incomplete install)';

  const root = lock.packages?.[''] ?? {};
  const direct = { ...root.dependencies, ...root.devDependencies };
  for (const name of Object.keys(direct)) {
    const installed = readJsonOrNull(path.join(nm, name, 'package.json'));
    if (installed === null) return `package ${name} is not installed`;
    const locked = lock.packages?.[`node_modules/${name}`]?.version;
    if (locked && installed.version !== locked) {
      return `package ${name} is ${installed.version}, package-lock.json wants ${locked}`;
    }
  }

  if ((mtimeOrNull(hiddenPath) ?? 0) < (mtimeOrNull(lockPath) ?? 0)) {
    // Older by time stamp: a checkout may have touched the lockfile without changing it, so look
    // at what it pins before paying for `npm ci`.
    const diff = lockDifference(lock.packages ?? {}, hidden.packages ?? {});
    if (diff !== null) return `node_modules is older than package-lock.json (${diff})`;
  }
  return null;
}

/**
 * First difference between the lockfile's packages and the installed (hidden lockfile) ones;
 * null when every non-optional locked package is installed at its locked version.
 * @param {Record<string, any>} locked @param {Record<string, any>} installed
 */
function lockDifference(locked, installed) {
  for (const [key, want] of Object.entries(locked)) {
    if (key === '' || !key.startsWith('node_modules/')) continue;
    const have = installed[key];
    if (!have) {
      if (want.optional) continue; // e.g. esbuild's binaries for other platforms
      return `${key.slice('node_modules/'.length)} not installed`;
    }
    if (have.version !== want.version) return `${key.slice('node_modules/'.length)} differs`;
  }
  for (const key of Object.keys(installed)) {
    if (key.startsWith('node_modules/') && !(key in locked)) {
      return `${key.slice('node_modules/'.length)} no longer locked`;
    }
  }
  return null;
}

function ensureNodeModules() {
  const problem = nodeModulesProblem();
  if (problem === null) {
    out.info('node_modules up to date');
    return;
  }
  const hasLock = fs.existsSync(path.join(ROOT, 'package-lock.json'));
  const args = hasLock ? ['ci'] : ['install'];
  if (envFlag('NORMLAB_SETUP_DRY_RUN')) {
    out.action(`${problem}; [dry run] would run: npm ${args.join(' ')}`);
    return;
  }
  out.action(`${problem}; running npm ${args.join(' ')}`);
  if (!hasLock) {
    runInherit('npm', args);
  } else {
    // npm >= 11 `npm ci` rejects a lockfile that lacks entries for optional platform packages the
    // registry does not serve (npm/cli#4828, e.g. @rollup/rollup-darwin-*). `npm install --no-save`
    // installs the same locked versions and leaves package-lock.json untouched. npm ci's own output
    // is held back and shown only if the fallback fails too, so a first run is not a wall of errors.
    const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
    if (ci.status !== 0) {
      const missing = /Missing: .* from lock file/.test(`${ci.stdout}${ci.stderr}`);
      out.action(
        missing
          ? 'npm ci refused the lockfile (this registry lacks some optional platform packages); installing the same locked versions with npm install --no-save'
          : 'npm ci failed; retrying with npm install --no-save',
      );
      try {
        runInherit('npm', ['install', '--no-save', '--no-audit', '--no-fund']);
      } catch (e) {
        process.stderr.write(`${ci.stdout}${ci.stderr}`);
        throw e;
      }
    }
  }
  const still = nodeModulesProblem();
  if (still !== null) throw new SetupError(`after npm ${args.join(' ')}: ${still}`);
}

// ---------------------------------------------------------------------------------------------
// b. WebGPU adapter

/** Makes sure XDG_RUNTIME_DIR points at a writable directory (Dawn/Mesa warn without one). */
function ensureXdgRuntimeDir() {
  if (process.env.XDG_RUNTIME_DIR) return;
  if (process.platform === 'win32' || process.platform === 'darwin') return;
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const usable = (/** @type {string} */ d) => {
    try {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      fs.accessSync(d, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  // /tmp/normlab-xdg, or a per-user one when another user already owns that
  let dir = path.join(os.tmpdir(), 'normlab-xdg');
  if (!usable(dir) && uid !== null) dir = path.join(os.tmpdir(), `normlab-xdg-${uid}`);
  if (!usable(dir)) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normlab-xdg-'));
  process.env.XDG_RUNTIME_DIR = dir; // inherited by the adapter check and later children
  out.info(`XDG_RUNTIME_DIR was unset; using ${dir} (export XDG_RUNTIME_DIR=${dir} in your shell)`);
}

// Runs in a child node process, so a crash or hang in the driver cannot take this script down.
const ADAPTER_PROBE = `
const say = (o) => { console.log(${JSON.stringify(ADAPTER_MARK)} + JSON.stringify(o)); process.exit(0); };
let mod;
try { mod = await import('webgpu'); } catch (e) { say({ loadError: String(e && e.message || e) }); }
try {
  const { create, globals } = mod;
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const a = await gpu.requestAdapter();
  if (!a) say({ info: null });
  const i = a.info; // GPUAdapterInfo fields are getters: JSON.stringify(a.info) gives {}
  say({ info: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description } });
} catch (e) { say({ info: null, error: String(e && e.message || e) }); }
`;

/**
 * @typedef {{ vendor: string, architecture: string, device: string, description: string }} AdapterInfo
 * @returns {{ info: AdapterInfo | null, reason: string | null }}
 */
function probeAdapter() {
  if (envFlag('NORMLAB_SETUP_FORCE_NO_ADAPTER')) {
    return { info: null, reason: 'NORMLAB_SETUP_FORCE_NO_ADAPTER is set' };
  }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', ADAPTER_PROBE], {
    cwd: ROOT, // bare 'webgpu' resolves from the project's node_modules
    env: process.env,
    encoding: 'utf8',
    timeout: ADAPTER_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = (r.stderr ?? '').trim().split('\n').slice(-5).join('\n');
  if (r.error) {
    const timedOut = /** @type {NodeJS.ErrnoException} */ (r.error).code === 'ETIMEDOUT';
    return {
      info: null,
      reason: timedOut ? `adapter request timed out after ${ADAPTER_TIMEOUT_MS / 1000} s` : r.error.message,
    };
  }
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(ADAPTER_MARK));
  if (!line) {
    const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
    return { info: null, reason: `adapter probe crashed (${how})${tail ? `: ${tail}` : ''}` };
  }
  const res = JSON.parse(line.slice(ADAPTER_MARK.length));
  if (res.loadError) {
    throw new SetupError(`cannot load the webgpu package from node_modules: ${res.loadError}`, [
      'run `npm ci` in the project directory',
    ]);
  }
  if (res.info) return { info: res.info, reason: null };
  return { info: null, reason: res.error ?? (tail || 'requestAdapter() returned null') };
}

/** @param {AdapterInfo} info */
function describeAdapter(info) {
  const d = (info.description ?? '').trim();
  if (d) return d;
  return [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || '(no description)';
}

/** @param {SystemChanges} sys */
function ensureAdapter(sys) {
  const first = probeAdapter();
  if (first.info) {
    out.info(`WebGPU adapter: ${describeAdapter(first.info)}`);
    return;
  }
  out.problem(`no WebGPU adapter (${first.reason})`);
  installVulkanDriver(sys);
  if (!sys.live) {
    if (sys.dryRun && sys.isRoot) out.action('[dry run] would re-check the WebGPU adapter');
    return; // non-root: SystemChanges.finish() reports the sudo commands
  }
  const again = probeAdapter();
  if (!again.info) {
    throw new SetupError(`still no WebGPU adapter after installing the Vulkan driver (${again.reason})`, [
      'check `vulkaninfo --summary` (package vulkan-tools) and that Mesa >= 24 is installed:',
      '  dpkg -l mesa-vulkan-drivers',
    ]);
  }
  out.action(`WebGPU adapter: ${describeAdapter(again.info)}`);
}

// ---------------------------------------------------------------------------------------------
// c. Vulkan driver from bookworm-backports

/** All APT source files, as apt reads them: sources.list and sources.list.d/*.{list,sources}. */
function readAptSourceFiles() {
  /** @type {{ path: string, text: string }[]} */
  const files = [];
  const main = path.join(APT_DIR, 'sources.list');
  const mainText = readTextOrNull(main);
  if (mainText !== null) files.push({ path: main, text: mainText });
  const dDir = path.join(APT_DIR, 'sources.list.d');
  let names = [];
  try {
    names = fs.readdirSync(dDir).sort();
  } catch {
    names = [];
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]+\.(list|sources)$/.test(name)) continue; // apt's own file-name rule
    const p = path.join(dDir, name);
    const text = readTextOrNull(p);
    if (text !== null) files.push({ path: p, text });
  }
  return files;
}

/** @param {SystemChanges} sys */
function installVulkanDriver(sys) {
  if (process.platform !== 'linux') {
    throw new SetupError(`no WebGPU adapter on ${process.platform}`, [
      'Dawn needs a working GPU driver (Metal on macOS, D3D12/Vulkan on Windows).',
    ]);
  }
  if (!isDebianBookworm()) {
    const rel = osRelease();
    throw new SetupError(
      `no WebGPU adapter, and this is not Debian bookworm (${rel.PRETTY_NAME ?? 'unknown OS'})`,
      [
        'install a Vulkan driver with Mesa >= 24 (e.g. lavapipe/llvmpipe for CPU-only machines)',
        'plus the Vulkan loader (libvulkan1 / vulkan-loader), then run this set-up again.',
      ],
    );
  }

  const files = readAptSourceFiles();
  const existing = backportsFiles(files);
  if (existing.length > 0) {
    out.info(`bookworm-backports source present (${existing.join(', ')})`);
  } else {
    const src = findBookwormSource(files);
    if (src === null) {
      throw new SetupError(`cannot find the APT source for suite bookworm in ${APT_DIR}`, [
        'add a bookworm-backports source for your Debian mirror, then install:',
        '  apt-get install -t bookworm-backports libvulkan1 mesa-vulkan-drivers',
      ]);
    }
    out.action(`no bookworm-backports source; adding one on ${src.uri} as ${BACKPORTS_FILE}`);
    sys.writeFile(BACKPORTS_FILE, backportsStanza(src));
  }
  out.action(`Vulkan driver needed: ${VULKAN_PACKAGES.join(' ')} from bookworm-backports (Mesa >= 24)`);
  sys.aptInstall(VULKAN_PACKAGES, 'bookworm-backports');
}

// ---------------------------------------------------------------------------------------------
// d. dataset

function findDataset() {
  const candidates = [
    path.join(DATASET_SYSTEM_DIR, 'train-images-idx3-ubyte.gz'),
    path.join(DATASET_LOCAL_DIR, 'train-images-idx3-ubyte'),
    path.join(DATASET_LOCAL_DIR, 'train-images-idx3-ubyte.gz'),
  ];
  const hit = candidates.find((p) => fs.existsSync(p));
  return hit ? path.dirname(hit) : null;
}

/** @param {SystemChanges} sys */
function ensureDataset(sys) {
  const dir = findDataset();
  if (dir !== null) {
    out.info(`Fashion-MNIST dataset: ${dir}`);
    return;
  }
  if (!isDebianLike()) {
    throw new SetupError('Fashion-MNIST dataset not found', [
      `put the four IDX files (optionally .gz) in ${DATASET_LOCAL_DIR}/:`,
      ...DATASET_FILES.map((f) => `  ${f}`),
      '(from the Fashion-MNIST project, github.com/zalandoresearch/fashion-mnist)',
    ]);
  }
  out.action(`Fashion-MNIST dataset not found; needs Debian package ${DATASET_PACKAGE}`);
  sys.aptInstall([DATASET_PACKAGE]);
  if (sys.live && findDataset() === null) {
    throw new SetupError(`${DATASET_PACKAGE} is installed but ${DATASET_SYSTEM_DIR} has no IDX files`);
  }
}

// ---------------------------------------------------------------------------------------------
// e. Chromium for the browser tests

/** @param {SystemChanges} sys */
function ensureChromium(sys) {
  if (fs.existsSync(CHROMIUM_PATH)) {
    out.info(`Chromium for the browser tests: ${CHROMIUM_PATH}`);
    return;
  }
  if (!isDebianLike()) {
    throw new SetupError(`Chromium not found at ${CHROMIUM_PATH} (the browser tests drive it)`, [
      'install Chromium or Chrome and point NORMLAB_CHROMIUM at its executable, then run this set-up again',
    ]);
  }
  out.action(`Chromium not found at ${CHROMIUM_PATH}; needs Debian package ${CHROMIUM_PACKAGE} (for the browser tests)`);
  sys.aptInstall([CHROMIUM_PACKAGE]);
  if (sys.live && !fs.existsSync(CHROMIUM_PATH)) {
    throw new SetupError(`${CHROMIUM_PACKAGE} is installed but ${CHROMIUM_PATH} is not there`, ['set NORMLAB_CHROMIUM to the browser executable']);
  }
}

// ---------------------------------------------------------------------------------------------
// main

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        quiet: { type: 'boolean', short: 'q', default: false },
        'no-dataset': { type: 'boolean', default: false },
        browser: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    });
    return values;
  } catch (e) {
    console.error(`setup: ${/** @type {Error} */ (e).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

function main() {
  const flags = parseFlags();
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  out.quiet = flags.quiet;
  const sys = new SystemChanges();
  if (sys.dryRun) out.action('dry run: system changes are printed, not made');

  try {
    ensureNodeModules();
    ensureXdgRuntimeDir();
    ensureAdapter(sys);
    if (flags['no-dataset']) out.info('dataset check skipped (--no-dataset)');
    else ensureDataset(sys);
    if (flags.browser) ensureChromium(sys);
    sys.finish();
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    out.problem(`error: ${e.message}`);
    // hint lines are printed as they are: shell commands (here-documents) must stay copy-pasteable
    for (const line of e.hint) console.error(line);
    return 1;
  }
  out.info('all good');
  return 0;
}

process.exitCode = main();
