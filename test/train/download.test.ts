import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { downloadCifar10, fetchToFile, type DownloadOptions } from '../../src/train/download.js';
import { extractTarGz, walkTar, type TarEntry } from '../../src/train/tar.js';
import { loadCifar10 } from '../../src/train/data/cifar10.js';
import { UserError, UsageError } from '../../src/engine/errors.js';
import { downloadCommand } from '../../src/cli/commands/download.js';
import { parseArgs } from '../../src/cli/args.js';

// ---- a minimal ustar writer, so the reader is tested against bytes we control (and against GNU tar below)

interface Entry {
  name: string;
  data?: Buffer;
  /** ustar typeflag: '0' file, '5' directory, '2' symlink. */
  type?: string;
  linkname?: string;
}

function octalField(b: Buffer, value: number, start: number, len: number): void {
  b.write(`${value.toString(8).padStart(len - 1, '0')}\0`, start, len, 'latin1');
}

function tarHeader(e: Entry): Buffer {
  const h = Buffer.alloc(512);
  let name = e.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 1);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  octalField(h, e.type === '5' ? 0o755 : 0o644, 100, 8);
  octalField(h, 0, 108, 8);
  octalField(h, 0, 116, 8);
  octalField(h, e.data?.length ?? 0, 124, 12);
  octalField(h, 1_700_000_000, 136, 12);
  h.write(e.type ?? '0', 156, 1, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function tar(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if (e.data && e.data.length > 0) {
      parts.push(e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---- small CIFAR-10 batch files in the exact binary format

const RECORD = 3073;
function cifarBatch(seed: number, labels: number[]): Buffer {
  const b = Buffer.alloc(labels.length * RECORD);
  let s = seed * 2654435761;
  labels.forEach((label, r) => {
    b[r * RECORD] = label;
    for (let i = 1; i < RECORD; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      b[r * RECORD + i] = (s >>> 16) & 0xff;
    }
  });
  return b;
}

const BIN = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const FILES: Record<string, Buffer> = Object.fromEntries([
  ...BIN.map((f, i) => [f, cifarBatch(i + 1, [i, (i + 3) % 10, 9])] as const),
  ['batches.meta.txt', Buffer.from(`${NAMES.join('\n')}\n\n`)] as const,
]);

/** Laid out as the official archive is: a directory entry, the files, and a readme we do not extract. */
function cifarEntries(change: (name: string, data: Buffer) => Buffer | null = (_, d) => d): Entry[] {
  const out: Entry[] = [{ name: 'cifar-10-batches-bin/', type: '5' }];
  for (const [f, data] of Object.entries(FILES)) {
    const d = change(f, data);
    if (d) out.push({ name: `cifar-10-batches-bin/${f}`, data: d });
  }
  out.push({ name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<html>readme</html>') });
  return out;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

// ---- the local server: loopback only, ephemeral port, closed after the tests

const routes = new Map<string, Buffer>();
const hits = new Map<string, number>();
let server: Server;
let base: string;

function serve(path: string, body: Buffer): string {
  routes.set(path, body);
  return `${base}${path}`;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/redirect/')) {
      res.writeHead(302, { location: path.slice('/redirect'.length) });
      res.end();
      return;
    }
    if (path === '/short') {
      // Promises 100000 bytes, sends 1000, then drops the connection.
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (path === '/stall') return; // never answers: the idle timeout must end it
    if (path === '/stall-body') {
      res.writeHead(200, { 'content-length': '5000' });
      res.write(Buffer.alloc(2000)); // then silence
      return;
    }
    const body = routes.get(path);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
    // In pieces, as a real server would send a large file.
    let i = 0;
    const next = () => {
      if (i >= body.length) return void res.end();
      const piece = body.subarray(i, i + 8192);
      i += 8192;
      if (res.write(piece)) setImmediate(next);
      else res.once('drain', next);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let root: string;
let n = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'normlab-download-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fresh(): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
}

function opts(dir: string, url: string, md5hex: string, lines: string[] = []): DownloadOptions {
  return { dir, url, md5: md5hex, log: (l) => lines.push(l), tty: false, idleTimeoutMs: 5000 };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected an error');
}

describe('download cifar10', () => {
  it('downloads, checks the MD5, extracts only the dataset files, and the result loads', async () => {
    const archive = gzipSync(tar(cifarEntries()));
    const url = serve('/good.tar.gz', archive);
    const dir = fresh();
    const lines: string[] = [];
    const r = await downloadCifar10(opts(dir, url, md5(archive), lines));
    const dataDir = join(dir, 'cifar-10-batches-bin');
    expect(r).toEqual({ dataDir, downloaded: true, trainCount: 15, testCount: 3 });
    // Nothing but the dataset directory is left: no temporary archive, no staging directory.
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    expect(readdirSync(dataDir).sort()).toEqual([...BIN, 'batches.meta.txt'].sort());
    for (const f of BIN) expect(readFileSync(join(dataDir, f)).equals(FILES[f]!)).toBe(true);
    const ds = loadCifar10(dataDir);
    expect(ds.train.count).toBe(15);
    expect(Array.from(ds.test.labels)).toEqual([5, 8, 9]);
    expect(ds.classes).toEqual(NAMES);
    expect(Buffer.from(ds.train.images.subarray(0, 3072)).equals(FILES['data_batch_1.bin']!.subarray(1, RECORD))).toBe(true);
    expect(lines.some((l) => l.includes(`MD5 ${md5(archive)} OK`))).toBe(true);
    expect(lines.some((l) => /^ {2}100%/.test(l))).toBe(true); // plain progress lines when not a TTY

    // Idempotent: a second run finds it, says so, and fetches nothing.
    const before = hits.get('/good.tar.gz');
    const again: string[] = [];
    const r2 = await downloadCifar10(opts(dir, url, md5(archive), again));
    expect(r2.downloaded).toBe(false);
    expect(hits.get('/good.tar.gz')).toBe(before);
    expect(again).toEqual([`CIFAR-10 is already in ${dataDir} (15 training, 3 test images); nothing to download`]);
  });

  it('follows redirects and draws a progress line on a TTY', async () => {
    const archive = gzipSync(tar(cifarEntries()));
    serve('/moved.tar.gz', archive);
    const dir = fresh();
    const drawn: string[] = [];
    const r = await downloadCifar10({ ...opts(dir, `${base}/redirect/moved.tar.gz`, md5(archive)), tty: true, write: (s) => drawn.push(s) });
    expect(r.downloaded).toBe(true);
    expect(drawn.some((s) => s.startsWith('\r') && /%/.test(s) && /MB\/s/.test(s))).toBe(true);
    expect(drawn.at(-1)).toBe('\r\x1b[K'); // the progress line is cleared at the end
  });

  it('repairs a damaged copy by downloading again', async () => {
    const archive = gzipSync(tar(cifarEntries()));
    const url = serve('/repair.tar.gz', archive);
    const dir = fresh();
    mkdirSync(join(dir, 'cifar-10-batches-bin'));
    writeFileSync(join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'), 'junk');
    const lines: string[] = [];
    const r = await downloadCifar10(opts(dir, url, md5(archive), lines));
    expect(r.downloaded).toBe(true);
    expect(lines[0]).toMatch(/cifar-10-batches-bin is incomplete or damaged \(.*\); downloading again$/);
    expect(loadCifar10(r.dataDir).train.count).toBe(15);
  });

  it('refuses a wrong MD5 before extracting anything, and deletes the download', async () => {
    const archive = gzipSync(tar(cifarEntries()));
    const url = serve('/md5.tar.gz', archive);
    const dir = fresh();
    const wrong = '0123456789abcdef0123456789abcdef';
    const m = await failure(downloadCifar10(opts(dir, url, wrong)));
    expect(m).toBe(
      `${url}: MD5 mismatch: expected ${wrong}, got ${md5(archive)} (${archive.length} bytes); ` +
        'the download is corrupt or not the CIFAR-10 binary archive, and nothing was extracted',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports HTTP errors, dropped connections, refused connections and silence in one line', async () => {
    const dir = fresh();
    const any = 'd41d8cd98f00b204e9800998ecf8427e';
    expect(await failure(downloadCifar10(opts(dir, `${base}/missing.tar.gz`, any)))).toBe(`${base}/missing.tar.gz: HTTP 404 Not Found`);
    expect(await failure(downloadCifar10(opts(dir, `${base}/redirect/missing.tar.gz`, any)))).toBe(
      `${base}/redirect/missing.tar.gz: HTTP 404 Not Found (redirected to ${base}/missing.tar.gz)`,
    );
    expect(await failure(downloadCifar10(opts(dir, `${base}/short`, any)))).toBe(`${base}/short: connection closed after 1000 of 100000 bytes`);
    // A port nobody listens on: bind one, note it, close it.
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    expect(await failure(fetchToFile(`http://127.0.0.1:${port}/x`, join(dir, 'x')))).toMatch(
      new RegExp(`^http://127.0.0.1:${port}/x: download failed \\(ECONNREFUSED`),
    );
    expect(await failure(fetchToFile(`${base}/stall`, join(dir, 'x'), { idleTimeoutMs: 300 }))).toBe(`${base}/stall: download failed (ETIMEDOUT: no data for 0.3 s)`);
    expect(await failure(fetchToFile(`${base}/stall-body`, join(dir, 'x'), { idleTimeoutMs: 300 }))).toBe(
      `${base}/stall-body: download failed after 2000 bytes (no data for 0.3 s)`,
    );
    expect(readdirSync(dir).filter((f) => f !== 'x')).toEqual([]);
  });

  it("refuses an archive with a '../' or absolute entry, and installs nothing", async () => {
    const dir = fresh();
    for (const evil of ['../evil.txt', 'cifar-10-batches-bin/../../evil.txt', '/tmp/evil.txt']) {
      const archive = gzipSync(tar([...cifarEntries(), { name: evil, data: Buffer.from('gotcha') }]));
      const url = serve(`/evil-${n++}.tar.gz`, archive);
      const m = await failure(downloadCifar10(opts(dir, url, md5(archive))));
      expect(m).toMatch(new RegExp(`\\.cifar-10-binary\\.tar\\.gz\\.part: entry '${evil.replace(/\./g, '\\.')}' has (a '\\.\\.' in its path|an absolute path); refusing to extract$`));
      expect(readdirSync(dir)).toEqual([]);
      expect(existsSync(join(root, 'evil.txt'))).toBe(false);
    }
  });

  it('refuses archives without the batch files, with invalid batch files, or not gzipped', async () => {
    const dir = fresh();
    const noTest = gzipSync(tar(cifarEntries((f, d) => (f === 'test_batch.bin' ? null : d))));
    expect(await failure(downloadCifar10(opts(dir, serve('/notest.tar.gz', noTest), md5(noTest))))).toBe(
      `${base}/notest.tar.gz: the archive has no cifar-10-batches-bin/test_batch.bin; nothing was installed`,
    );
    const badLabel = gzipSync(tar(cifarEntries((f, d) => (f === 'data_batch_2.bin' ? Buffer.concat([Buffer.from([10]), d.subarray(1)]) : d))));
    expect(await failure(downloadCifar10(opts(dir, serve('/label.tar.gz', badLabel), md5(badLabel))))).toMatch(
      /label\.tar\.gz: the archive's files are not valid CIFAR-10 \(.*data_batch_2\.bin: label 10 in record 0 is out of range \(0\.\.9\)\); nothing was installed$/,
    );
    const plain = tar(cifarEntries());
    expect(await failure(downloadCifar10(opts(dir, serve('/plain.tar.gz', plain), md5(plain))))).toMatch(
      /\.cifar-10-binary\.tar\.gz\.part: not a valid gzip file \(incorrect header check\)$/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('validates its arguments as a command', async () => {
    const run = (argv: string[]) => downloadCommand.run(parseArgs(downloadCommand, argv));
    await expect(run(['mnist'])).rejects.toThrow(UsageError);
    await expect(run(['mnist'])).rejects.toThrow("unknown dataset 'mnist'; normlab download knows: cifar10");
    await expect(run(['cifar10', '--md5', 'abc'])).rejects.toThrow("--md5: 'abc' is not valid; expected 32 hexadecimal digits");
    await expect(run(['cifar10', '--url', 'ftp://x/y'])).rejects.toThrow("--url: 'ftp://x/y' is not valid; expected an http:// or https:// URL");
    expect(() => parseArgs(downloadCommand, [])).toThrow('missing dataset');
  });
});

describe('tar reader', () => {
  async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
  }
  async function list(b: Buffer, size = 100): Promise<Array<TarEntry & { data: string }>> {
    const out: Array<TarEntry & { data: string }> = [];
    await walkTar(chunks(b, size), async (e, body) => {
      const parts: Buffer[] = [];
      if (e.name.endsWith('.txt')) for await (const p of body) parts.push(p); // others are skipped unread
      out.push({ ...e, data: Buffer.concat(parts).toString() });
    });
    return out;
  }

  it('reads names (with the ustar prefix), types and bodies whatever the chunking', async () => {
    const long = `${'d'.repeat(120)}/name.txt`;
    const b = tar([
      { name: './a/', type: '5' },
      { name: './a/one.txt', data: Buffer.from('x'.repeat(700)) },
      { name: 'a/skip.bin', data: Buffer.alloc(1025, 7) },
      { name: 'a/link.txt', type: '2', linkname: 'one.txt' },
      { name: long, data: Buffer.from('long') },
    ]);
    for (const size of [1, 100, 512, 1 << 20]) {
      const got = await list(b, size);
      expect(got.map((e) => [e.name, e.type, e.size])).toEqual([
        ['a', 'directory', 0],
        ['a/one.txt', 'file', 700],
        ['a/skip.bin', 'file', 1025],
        ['a/link.txt', 'symlink', 0],
        [long, 'file', 4],
      ]);
      expect(got[1]!.data).toBe('x'.repeat(700));
      expect(got[4]!.data).toBe('long');
    }
  });

  it('refuses a bad header checksum and a truncated body', async () => {
    const b = tar([{ name: 'a.txt', data: Buffer.from('hello') }]);
    const bad = Buffer.from(b);
    bad[0] = 0x62; // 'b': the stored checksum no longer matches
    await expect(list(bad)).rejects.toThrow('bad header checksum at byte 0 (not a tar archive, or corrupt)');
    await expect(list(b.subarray(0, 514))).rejects.toThrow(/truncated in 'a\.txt'/);
  });

  it('refuses to write a selected entry that is not a regular file', async () => {
    const dir = fresh();
    const archive = join(dir, 'a.tar.gz');
    writeFileSync(archive, gzipSync(tar([{ name: 'x/data_batch_1.bin', type: '2', linkname: '/etc/passwd' }])));
    await expect(extractTarGz(archive, dir, { select: (n) => (n === 'x/data_batch_1.bin' ? 'data_batch_1.bin' : null) })).rejects.toThrow(
      `${archive}: entry 'x/data_batch_1.bin' is a symlink, not a regular file`,
    );
  });

  const hasTar = spawnSync('tar', ['--version']).status === 0;
  it.skipIf(!hasTar)('reads archives made by the system tar (gnu and pax formats, long names)', async () => {
    const src = fresh();
    const long = `${'n'.repeat(150)}.txt`;
    mkdirSync(join(src, 'cifar-10-batches-bin'));
    for (const [f, d] of Object.entries(FILES)) writeFileSync(join(src, 'cifar-10-batches-bin', f), d);
    writeFileSync(join(src, 'cifar-10-batches-bin', long), 'long name');
    for (const format of ['gnu', 'pax', 'ustar']) {
      if (format === 'ustar') rmSync(join(src, 'cifar-10-batches-bin', long)); // ustar cannot hold a 150-byte name
      const archive = join(src, `${format}.tar.gz`);
      const r = spawnSync('tar', [`--format=${format}`, '-czf', archive, '-C', src, 'cifar-10-batches-bin']);
      expect(r.status, r.stderr.toString()).toBe(0);
      const got = await list(gunzipSync(readFileSync(archive)), 4096);
      const names = got.map((e) => e.name);
      expect(names).toContain('cifar-10-batches-bin/data_batch_3.bin');
      if (format !== 'ustar') expect(got.find((e) => e.name === `cifar-10-batches-bin/${long}`)?.data).toBe('long name');
      const out = join(src, `out-${format}`);
      mkdirSync(out);
      const written = await extractTarGz(archive, out, {
        select: (name) => (name.startsWith('cifar-10-batches-bin/') && !name.endsWith('.txt') ? name.slice(21) : name.endsWith('meta.txt') ? 'batches.meta.txt' : null),
      });
      expect(written.sort()).toEqual([...BIN, 'batches.meta.txt'].sort());
      expect(loadCifar10(out).train.count).toBe(15);
      // Streams (a Readable) work as input as well as generators.
      let count = 0;
      await walkTar(Readable.from(chunks(gunzipSync(readFileSync(archive)), 333)), async () => void count++);
      expect(count).toBe(names.length);
    }
  });
});
