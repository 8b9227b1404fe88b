// Pure parsing of APT source lists, used by scripts/setup.mjs to find the Debian mirror that the
// machine already uses for `bookworm`, so that a `bookworm-backports` source can be added on the
// same mirror (never a hard-coded host). No I/O here: callers pass the files' text in.
//
// Two formats are understood, as apt(8) does:
//   - deb822 `*.sources` files: blank-line separated stanzas of `Field: value` lines
//     (Types, URIs, Suites, Components, Signed-By, Enabled), `#` comment lines, and continuation
//     lines that start with white space (a lone `.` stands for an empty line);
//   - one-line `sources.list` / `*.list` files: `deb [opt=value ...] URI suite [component ...]`.
// Files whose path ends in neither `.sources` nor `.list` are ignored, as apt ignores them.

/**
 * @typedef {{ path: string, text: string }} SourceFile
 * @typedef {{
 *   path: string,
 *   types: string[],
 *   uris: string[],
 *   suites: string[],
 *   components: string[],
 *   signedBy: string | null,
 *   enabled: boolean,
 * }} SourceEntry
 */

/** @param {string} path */
function formatOf(path) {
  if (path.endsWith('.sources')) return 'deb822';
  if (path.endsWith('.list')) return 'one-line';
  return null;
}

/** @param {string} s */
function words(s) {
  return s.split(/\s+/).filter(Boolean);
}

/**
 * Parses a deb822 `.sources` file into entries (one per stanza).
 * @param {string} path
 * @param {string} text
 * @returns {SourceEntry[]}
 */
export function parseDeb822(path, text) {
  /** @type {SourceEntry[]} */
  const entries = [];
  /** @type {Map<string, string>} */
  let fields = new Map();
  /** @type {string | null} */
  let current = null;

  const flush = () => {
    if (fields.size > 0) entries.push(stanzaToEntry(path, fields));
    fields = new Map();
    current = null;
  };

  for (const rawLine of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (rawLine.startsWith('#')) continue; // comments may sit inside a stanza
    if (rawLine.trim() === '') {
      flush();
      continue;
    }
    if (/^[ \t]/.test(rawLine)) {
      // continuation of the previous field (multi-line values such as an inline Signed-By key)
      if (current !== null) {
        const piece = rawLine.trim() === '.' ? '' : rawLine.trim();
        fields.set(current, `${fields.get(current)}\n${piece}`);
      }
      continue;
    }
    const m = /^([A-Za-z0-9-]+)\s*:(.*)$/.exec(rawLine);
    if (!m) continue; // malformed line; apt would reject the file, we just skip the line
    current = m[1].toLowerCase();
    fields.set(current, m[2].trim());
  }
  flush();
  return entries;
}

/**
 * @param {string} path
 * @param {Map<string, string>} fields
 * @returns {SourceEntry}
 */
function stanzaToEntry(path, fields) {
  const signed = fields.get('signed-by');
  const enabled = (fields.get('enabled') ?? 'yes').trim().toLowerCase();
  return {
    path,
    types: words(fields.get('types') ?? ''),
    uris: words(fields.get('uris') ?? ''),
    suites: words(fields.get('suites') ?? ''),
    components: words(fields.get('components') ?? ''),
    // a key path / fingerprint list on one line, or an inline ASCII-armoured key on several lines
    signedBy: signed === undefined ? null : signed.replace(/^\n+/, '').trimEnd() || null,
    enabled: !['no', 'false', 'off', '0'].includes(enabled),
  };
}

/**
 * Parses a one-line-style `sources.list` / `*.list` file.
 * @param {string} path
 * @param {string} text
 * @returns {SourceEntry[]}
 */
export function parseOneLine(path, text) {
  /** @type {SourceEntry[]} */
  const entries = [];
  for (const rawLine of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, type, optText = '', uri, suite, rest] = m;
    /** @type {string | null} */
    let signedBy = null;
    for (const opt of words(optText)) {
      const o = /^([A-Za-z-]+)[+-]?=(.*)$/.exec(opt);
      if (o && o[1].toLowerCase() === 'signed-by') signedBy = o[2];
    }
    entries.push({
      path,
      types: [type],
      uris: [uri],
      suites: [suite],
      components: words(rest),
      signedBy,
      enabled: true,
    });
  }
  return entries;
}

/**
 * All enabled entries of all source files, in file order.
 * @param {SourceFile[]} files
 * @returns {SourceEntry[]}
 */
export function parseAptSources(files) {
  /** @type {SourceEntry[]} */
  const out = [];
  for (const { path, text } of files) {
    const fmt = formatOf(path);
    if (fmt === null) continue;
    const entries = fmt === 'deb822' ? parseDeb822(path, text) : parseOneLine(path, text);
    for (const e of entries) if (e.enabled) out.push(e);
  }
  return out;
}

/** @param {SourceEntry} e @param {string} suite */
function isBinarySourceFor(e, suite) {
  return e.types.includes('deb') && e.uris.length > 0 && e.suites.includes(suite);
}

/**
 * The binary (`deb`) source that serves suite `bookworm` — the plain release, not
 * bookworm-security / -updates / -backports. Prefers one that carries the `main` component.
 * @param {SourceFile[]} files
 * @returns {{ uri: string, signedBy: string | null, components: string[] } | null}
 */
export function findBookwormSource(files) {
  const candidates = parseAptSources(files).filter((e) => isBinarySourceFor(e, 'bookworm'));
  const best = candidates.find((e) => e.components.includes('main')) ?? candidates[0];
  if (!best) return null;
  return { uri: best.uris[0], signedBy: best.signedBy, components: best.components };
}

/**
 * Whether some enabled binary source already serves suite `bookworm-backports`.
 * @param {SourceFile[]} files
 * @returns {boolean}
 */
export function hasBackports(files) {
  return parseAptSources(files).some((e) => isBinarySourceFor(e, 'bookworm-backports'));
}

/**
 * The paths of the files holding an enabled `bookworm-backports` binary source.
 * @param {SourceFile[]} files
 * @returns {string[]}
 */
export function backportsFiles(files) {
  const paths = parseAptSources(files)
    .filter((e) => isBinarySourceFor(e, 'bookworm-backports'))
    .map((e) => e.path);
  return [...new Set(paths)];
}

/**
 * Text of a deb822 stanza for `bookworm-backports` (component `main`) on the given mirror.
 * A multi-line Signed-By (inline key) is written back as deb822 continuation lines.
 * @param {{ uri: string, signedBy: string | null }} source
 * @returns {string}
 */
export function backportsStanza({ uri, signedBy }) {
  const lines = [
    '# Written by normlab scripts/setup.mjs: Mesa >= 24 (Vulkan driver for Dawn/WebGPU).',
    'Types: deb',
    `URIs: ${uri}`,
    'Suites: bookworm-backports',
    'Components: main',
  ];
  if (signedBy !== null && signedBy !== '') {
    if (signedBy.includes('\n')) {
      lines.push('Signed-By:');
      for (const l of signedBy.split('\n')) lines.push(l.trim() === '' ? ' .' : ` ${l}`);
    } else {
      lines.push(`Signed-By: ${signedBy}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
