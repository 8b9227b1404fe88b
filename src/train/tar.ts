// A small streaming reader for gzipped ustar archives (POSIX ustar, GNU tar and pax headers), enough
// to unpack a dataset archive without a dependency. It reads regular files only, refuses absolute
// paths and '..' anywhere in the archive, and writes only the entries the caller selects, each to a
// temporary file renamed into place once complete.
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { UserError } from '../engine/errors.js';

const BLOCK = 512;
/** Bounds what a pax or GNU long-name header may make us buffer. */
const MAX_META_ENTRY = 1 << 20;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** The path inside the archive, from the ustar prefix + name, a pax path or a GNU long name; './' stripped. */
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
}

/** Reads exact byte counts from an async stream of Buffers. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes consumed so far, for error messages. */
  offset = 0;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Exactly n bytes, or null at a clean end of stream (nothing left); a partial read is 'truncated'. */
  async exact(n: number, what: string): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.more())) {
        if (this.buf.length === 0) return null;
        throw new TarError(`truncated in ${what} at byte ${this.offset + this.buf.length}`);
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** n bytes as they arrive, in pieces. */
  async *pieces(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw new TarError(`truncated in ${what} at byte ${this.offset}`);
      const k = Math.min(left, this.buf.length);
      const piece = this.buf.subarray(0, k);
      this.buf = this.buf.subarray(k);
      this.offset += k;
      left -= k;
      yield piece;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    const it = this.pieces(n, what);
    while (!(await it.next()).done);
  }
}

/** A problem with the archive's structure; the caller prefixes the archive's path. */
export class TarError extends Error {}

function cstring(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? len : end).toString('utf8');
}

function octal(b: Buffer, start: number, len: number, what: string): number {
  if (b[start]! & 0x80) throw new TarError(`${what} uses GNU base-256 encoding (a file over 8 GB), which is not supported`);
  const s = cstring(b, start, len).replace(/ +$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`${what} '${s}' is not an octal number`);
  return parseInt(s, 8);
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

interface RawHeader extends TarEntry {
  typeflag: string;
}

function parseHeader(h: Buffer, at: number): RawHeader {
  const stored = octal(h, 148, 8, `header checksum at byte ${at}`);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw new TarError(`bad header checksum at byte ${at} (not a tar archive, or corrupt)`);
  const magic = h.subarray(257, 263).toString('latin1');
  let name = cstring(h, 0, 100);
  // POSIX ustar keeps long paths' leading directories in a prefix field; old GNU headers use those
  // bytes for other things and say so with the magic 'ustar  '.
  if (magic === 'ustar\0') {
    const prefix = cstring(h, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const typeflag = String.fromCharCode(h[156]!);
  const type: TarEntryType =
    typeflag === '0' || typeflag === '\0' || typeflag === '7'
      ? 'file'
      : typeflag === '5'
        ? 'directory'
        : typeflag === '2'
          ? 'symlink'
          : typeflag === '1'
            ? 'hardlink'
            : 'other';
  return { name, type, typeflag, size: octal(h, 124, 12, `size at byte ${at}`), mode: octal(h, 100, 8, `mode at byte ${at}`) };
}

/** The records of a pax extended header: 'LEN key=value\n' each. */
function parsePax(body: Buffer, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    const len = sp === -1 ? NaN : Number(body.subarray(i, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= sp - i || i + len > body.length) throw new TarError(`malformed pax header at byte ${at}`);
    const rec = body.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq === -1) throw new TarError(`malformed pax header at byte ${at}`);
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** An entry's path, checked: relative, no '..' component, './' stripped. Throws on an unsafe path. */
export function safeEntryName(name: string): string {
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    throw new TarError(`entry '${name}' has an absolute path; refusing to extract`);
  }
  const parts = name.split(/[/\\]/);
  if (parts.includes('..')) throw new TarError(`entry '${name}' has a '..' in its path; refusing to extract`);
  return parts.filter((p) => p !== '' && p !== '.').join('/');
}

/**
 * Walks the entries of an uncompressed tar stream. onEntry gets each entry (pax and GNU long names
 * applied, the path checked by safeEntryName) and its body; what it does not consume is skipped.
 * Every entry's path is checked, including those the caller ignores.
 */
export async function walkTar(
  input: AsyncIterable<Buffer>,
  onEntry: (entry: TarEntry, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const r = new ByteReader(input[Symbol.asyncIterator]());
  let pending: { path?: string; size?: number } = {};
  let global: { path?: string; size?: number } = {};
  for (;;) {
    const at = r.offset;
    const h = await r.exact(BLOCK, 'a header');
    if (h === null || isZeroBlock(h)) return; // end-of-archive blocks, or an archive without them
    const raw = parseHeader(h, at);
    const padded = Math.ceil(raw.size / BLOCK) * BLOCK;
    // Metadata entries describe the entry that follows them.
    if (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L') {
      if (raw.size > MAX_META_ENTRY) throw new TarError(`metadata entry at byte ${at} is implausibly large (${raw.size} bytes)`);
      const body = (await r.exact(padded, 'a metadata entry')) ?? Buffer.alloc(0);
      if (body.length < padded) throw new TarError(`truncated in a metadata entry at byte ${at}`);
      const data = body.subarray(0, raw.size);
      if (raw.typeflag === 'L') pending.path = cstring(data, 0, data.length);
      else {
        const pax = parsePax(data, at);
        const target = raw.typeflag === 'x' ? pending : global;
        const p = pax.get('path');
        if (p !== undefined) target.path = p;
        const s = pax.get('size');
        if (s !== undefined) {
          if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarError(`pax size '${s}' at byte ${at} is not a number`);
          target.size = Number(s);
        }
      }
      continue;
    }
    const size = pending.size ?? global.size ?? raw.size;
    const entry: TarEntry = {
      name: safeEntryName(pending.path ?? global.path ?? raw.name),
      type: raw.type,
      size: raw.type === 'file' ? size : 0,
      mode: raw.mode,
    };
    // Links, directories, devices and FIFOs have no data in the archive, whatever their size says.
    const stored = '123456'.includes(raw.typeflag) ? 0 : size;
    pending = {};
    let consumed = 0;
    const body = r.pieces(entry.size, `'${entry.name}'`);
    const counted = (async function* () {
      for await (const p of body) {
        consumed += p.length;
        yield p;
      }
    })();
    await onEntry(entry, counted);
    await r.skip(Math.ceil(stored / BLOCK) * BLOCK - consumed, `'${entry.name}'`);
  }
}

/** The chunks of a gzipped file, inflated; a gzip error becomes a one-line UserError naming the file. */
async function* gunzipFile(path: string): AsyncGenerator<Buffer> {
  const source = createReadStream(path);
  const gunzip = createGunzip();
  source.on('error', (e) => gunzip.destroy(e)); // pipe() alone would leave gunzip waiting forever
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && code.startsWith('Z_')) throw new UserError(`${path}: not a valid gzip file (${(e as Error).message})`);
    throw new UserError(`${path}: cannot read (${code ?? (e as Error).message})`);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

export interface ExtractOptions {
  /** Maps a (safe) entry path to the path to write it to, relative to destDir, or null to skip it. */
  select: (name: string) => string | null;
  /** Largest file select may accept, in bytes (a bound on what a bad archive can write). */
  maxFileBytes?: number;
}

/**
 * Extracts the selected regular files of a .tar.gz into destDir (which must exist), each written to a
 * temporary file beside its destination and renamed into place when complete. Returns the relative
 * paths written. A selected entry that is not a regular file is an error.
 */
export async function extractTarGz(archive: string, destDir: string, opts: ExtractOptions): Promise<string[]> {
  const written: string[] = [];
  const maxBytes = opts.maxFileBytes ?? Number.MAX_SAFE_INTEGER;
  try {
    await walkTar(gunzipFile(archive), async (entry, body) => {
      const rel = opts.select(entry.name);
      if (rel === null) return;
      if (entry.type !== 'file') throw new TarError(`entry '${entry.name}' is a ${entry.type}, not a regular file`);
      if (entry.size > maxBytes) throw new TarError(`entry '${entry.name}' is ${entry.size} bytes, more than the ${maxBytes} expected`);
      const dest = join(destDir, safeEntryName(rel));
      const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}`);
      const fh = await open(tmp, 'w', 0o644);
      try {
        for await (const piece of body) await fh.write(piece);
        await fh.sync();
      } catch (e) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
        throw e;
      }
      await fh.close();
      await rename(tmp, dest);
      written.push(rel);
    });
  } catch (e) {
    if (e instanceof TarError) throw new UserError(`${archive}: ${e.message}`);
    throw e;
  }
  return written;
}
