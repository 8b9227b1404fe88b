// `normlab download cifar10`: fetch the official CIFAR-10 binary archive over HTTP(S), check its MD5
// before anything is extracted, and unpack the batch files into DIR/cifar-10-batches-bin/. Files are
// installed only once the whole archive has been read and the extracted set loads as CIFAR-10, each
// by rename, so an interrupted or bad download never leaves a half-written dataset behind.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../engine/errors.js';
import { CIFAR10_BIN_FILES, CIFAR10_META_FILE, CIFAR10_SUBDIR, loadCifar10 } from './data/cifar10.js';
import { extractTarGz } from './tar.js';
import type { Dataset } from './data/dataset.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** MD5 of the official archive (the one the CIFAR-10 page and torchvision list). */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_ARCHIVE_BYTES = 170_052_171;

const MAX_REDIRECTS = 5;
/** A bound on what a wrong URL can make us write to disk: the real archive is 170 MB. */
const MAX_ARCHIVE_BYTES = 1 << 30;
/** A batch file is 30.7 MB; nothing the archive holds for us should be larger than this. */
const MAX_EXTRACTED_FILE_BYTES = 256 << 20;
const ARCHIVE_PART = '.cifar-10-binary.tar.gz.part';
const STAGING = `.${CIFAR10_SUBDIR}.part`;

export interface DownloadOptions {
  /** Where cifar-10-batches-bin/ goes (created if needed). */
  dir: string;
  url?: string;
  /** Expected MD5 of the archive, hex; defaults to the official archive's. */
  md5?: string;
  /** Informational lines (default: stderr). */
  log?: (line: string) => void;
  /** Show a self-overwriting progress line (default: whether stderr is a TTY); otherwise plain lines. */
  tty?: boolean;
  /** Where the progress line is written when tty (default: stderr). */
  write?: (s: string) => void;
  /** Gives up when the server sends nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  /** The directory to pass as --data. */
  dataDir: string;
  /** False when the dataset was already there and nothing was fetched. */
  downloaded: boolean;
  trainCount: number;
  testCount: number;
}

interface Progress {
  (bytes: number, total: number | null, done: boolean): void;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function describeNetError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? `: ${err.message}` : ''}` : err.message;
}

/** The response for url after following redirects; the caller consumes its body. */
function request(
  url: URL,
  idleTimeoutMs: number,
  redirectsLeft: number,
  original: string,
  state: { timedOut: boolean },
): Promise<http.IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!lib) {
      reject(new UserError(`${original}: cannot download from a ${url.protocol} URL (http: or https: only)`));
      return;
    }
    const req = lib.get(url, { headers: { 'user-agent': 'normlab', 'accept-encoding': 'identity' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft === 0) {
          reject(new UserError(`${original}: more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
        } catch {
          reject(new UserError(`${original}: redirected to an invalid URL '${res.headers.location}'`));
          return;
        }
        request(next, idleTimeoutMs, redirectsLeft - 1, original, state).then(resolvePromise, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        const where = url.href === original ? '' : ` (redirected to ${url.href})`;
        reject(new UserError(`${original}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${where}`));
        return;
      }
      resolvePromise(res);
    });
    // An idle socket, before or during the body, ends the request; fetchToFile reports it as such.
    req.setTimeout(idleTimeoutMs, () => {
      state.timedOut = true;
      req.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (e) => reject(new UserError(`${original}: download failed (${describeNetError(e)})`)));
  });
}

/**
 * Streams url to dest while computing its MD5. Throws a one-line UserError on HTTP errors, network
 * failures, a body shorter than its Content-Length, or more than MAX_ARCHIVE_BYTES.
 */
export async function fetchToFile(
  url: string,
  dest: string,
  opts: { idleTimeoutMs?: number; progress?: Progress } = {},
): Promise<{ bytes: number; md5: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`'${url}' is not a valid URL`);
  }
  const idle = opts.idleTimeoutMs ?? 60_000;
  const state = { timedOut: false };
  const res = await request(parsed, idle, MAX_REDIRECTS, url, state);
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  if (total !== null && total > MAX_ARCHIVE_BYTES) {
    res.destroy();
    throw new UserError(`${url}: the server offers ${mb(total)} MB, far more than the ${mb(CIFAR10_ARCHIVE_BYTES)} MB archive; wrong URL?`);
  }
  const hash = createHash('md5');
  let bytes = 0;
  try {
    await pipeline(
      res,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > MAX_ARCHIVE_BYTES) throw new UserError(`${url}: more than ${mb(MAX_ARCHIVE_BYTES)} MB; wrong URL?`);
          hash.update(chunk);
          opts.progress?.(bytes, total, false);
          yield chunk;
        }
      },
      createWriteStream(dest),
    );
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'ENOENT') {
      throw new UserError(`${dest}: cannot write (${code})`);
    }
    if (state.timedOut) throw new UserError(`${url}: download failed after ${bytes} bytes (no data for ${idle / 1000} s)`);
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new UserError(`${url}: connection closed after ${bytes}${total === null ? '' : ` of ${total}`} bytes`);
    }
    throw new UserError(`${url}: download failed after ${bytes} bytes (${describeNetError(e)})`);
  }
  if (total !== null && bytes !== total) {
    throw new UserError(`${url}: connection closed after ${bytes} of ${total} bytes`);
  }
  opts.progress?.(bytes, total, true);
  return { bytes, md5: hash.digest('hex') };
}

/** Progress as a self-overwriting line on a TTY (at most 5 times a second), else a line per 10%. */
function progressReporter(log: (s: string) => void, tty: boolean, write: (s: string) => void): Progress {
  const start = Date.now();
  let lastDraw = 0;
  let lastStep = 0;
  return (bytes, total, done) => {
    const now = Date.now();
    const secs = Math.max((now - start) / 1000, 1e-3);
    const rate = `${mb(bytes / secs)} MB/s`;
    const pct = total ? `${((100 * bytes) / total).toFixed(1).padStart(5)}%  ` : '';
    const of = total ? `${mb(bytes)} / ${mb(total)} MB` : `${mb(bytes)} MB`;
    if (tty) {
      if (done) {
        write('\r\x1b[K');
        return;
      }
      if (now - lastDraw < 200) return;
      lastDraw = now;
      write(`\r\x1b[K  ${pct}${of}  ${rate}`);
      return;
    }
    if (done) return;
    // Plain lines: every 10% with a known length, every 20 MB without.
    const step = total ? Math.floor((10 * bytes) / total) : Math.floor(bytes / 20e6);
    if (step > lastStep) {
      lastStep = step;
      log(`  ${total ? `${step * 10}%  ` : ''}${of}  ${rate}`);
    }
  };
}

/** The dataset in dataDir when it loads as CIFAR-10, or the reason it does not; null when absent. */
function existing(dataDir: string): { ok: true; train: number; test: number } | { ok: false; why: string } | null {
  try {
    const ds = loadCifar10(dataDir);
    return { ok: true, train: ds.train.count, test: ds.test.count };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { ok: false, why: e.message };
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Downloads and unpacks CIFAR-10 into opts.dir/cifar-10-batches-bin/, verifying the archive's MD5
 * before extracting. Does nothing when that directory already loads as CIFAR-10.
 */
export async function downloadCifar10(opts: DownloadOptions): Promise<DownloadResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const url = opts.url ?? CIFAR10_URL;
  const expected = (opts.md5 ?? CIFAR10_MD5).toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(expected)) throw new UserError(`'${opts.md5}' is not an MD5 (32 hexadecimal digits)`);
  const dataDir = join(opts.dir, CIFAR10_SUBDIR);

  if (await exists(dataDir)) {
    const found = existing(dataDir);
    if (found?.ok) {
      log(`CIFAR-10 is already in ${dataDir} (${found.train} training, ${found.test} test images); nothing to download`);
      return { dataDir, downloaded: false, trainCount: found.train, testCount: found.test };
    }
    if (found && !found.ok) log(`${dataDir} is incomplete or damaged (${found.why}); downloading again`);
  }

  try {
    await mkdir(opts.dir, { recursive: true });
  } catch (e) {
    throw new UserError(`${opts.dir}: cannot create (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const part = join(opts.dir, ARCHIVE_PART);
  const staging = join(opts.dir, STAGING);
  // Leftovers of an interrupted run.
  await rm(part, { force: true });
  await rm(staging, { recursive: true, force: true });

  try {
    log(`downloading ${url}`);
    const started = Date.now();
    const tty = opts.tty ?? process.stderr.isTTY === true;
    const write = opts.write ?? ((s: string) => void process.stderr.write(s));
    const got = await fetchToFile(url, part, { idleTimeoutMs: opts.idleTimeoutMs, progress: progressReporter(log, tty, write) });
    const secs = Math.max((Date.now() - started) / 1000, 1e-3);
    if (got.md5 !== expected) {
      throw new UserError(
        `${url}: MD5 mismatch: expected ${expected}, got ${got.md5} (${got.bytes} bytes); ` +
          'the download is corrupt or not the CIFAR-10 binary archive, and nothing was extracted',
      );
    }
    log(`downloaded ${mb(got.bytes)} MB in ${secs.toFixed(1)} s (${mb(got.bytes / secs)} MB/s), MD5 ${got.md5} OK`);

    // Extract into a staging directory, check the result loads, then rename each file into place.
    await mkdir(staging);
    const wanted = new Set<string>([...CIFAR10_BIN_FILES, CIFAR10_META_FILE].map((f) => `${CIFAR10_SUBDIR}/${f}`));
    const written = await extractTarGz(part, staging, {
      select: (name) => (wanted.has(name) ? name.slice(CIFAR10_SUBDIR.length + 1) : null),
      maxFileBytes: MAX_EXTRACTED_FILE_BYTES,
    });
    const missing = CIFAR10_BIN_FILES.filter((f) => !written.includes(f));
    if (missing.length > 0) {
      throw new UserError(`${url}: the archive has no ${missing.map((f) => `${CIFAR10_SUBDIR}/${f}`).join(', ')}; nothing was installed`);
    }
    let ds: Dataset;
    try {
      ds = loadCifar10(staging);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${url}: the archive's files are not valid CIFAR-10 (${e.message}); nothing was installed`);
      throw e;
    }
    await mkdir(dataDir, { recursive: true });
    for (const f of written) await rename(join(staging, f), join(dataDir, f));
    // A stale batches.meta.txt from an earlier copy must not outlive an archive without one.
    if (!written.includes(CIFAR10_META_FILE)) await unlink(join(dataDir, CIFAR10_META_FILE)).catch(() => {});
    log(`extracted ${written.length} files (${ds.train.count} training, ${ds.test.count} test images) to ${dataDir}`);
    return { dataDir, downloaded: true, trainCount: ds.train.count, testCount: ds.test.count };
  } finally {
    await rm(part, { force: true });
    await rm(staging, { recursive: true, force: true });
    // Leave no empty dataDir behind when nothing was installed into it.
    if (await exists(dataDir)) {
      const left = await readdir(dataDir).catch(() => ['?']);
      if (left.length === 0) await rm(dataDir, { recursive: true, force: true });
    }
  }
}
