// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// raw little-endian data. Reading validates everything before anything is copied out, so a bad file
// is refused whole with one line and nothing is loaded partially.
import { UserError } from '../engine/errors.js';

export type StDType = 'F32' | 'I64' | 'U8' | 'I32';
const DTYPE_BYTES: Record<StDType, number> = { F32: 4, I64: 8, U8: 1, I32: 4 };

export interface StTensor {
  dtype: StDType;
  shape: number[];
  data: Float32Array | BigInt64Array | Uint8Array | Int32Array;
}

export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, StTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  // Sorted names, so the same weights always give the same bytes.
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = n * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(raw, pos);
    pos += raw.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, path = 'checkpoint'): StFile {
  const bad = (what: string): never => {
    throw new UserError(`${path}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) bad(`${bytes.length} bytes, too short for the header length`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) bad(`header length ${headerLen} is beyond the file's ${bytes.length} bytes`);
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    bad(`malformed JSON header (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) bad('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: StDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) bad('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') bad(`metadata '${k}' is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') bad(`tensor '${name}' has no description`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`tensor '${name}' has an invalid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      bad(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = off as [number, number];
    const shape = e.shape as number[];
    const dtype = e.dtype as StDType;
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) bad(`tensor '${name}' [${shape}] ${dtype} needs ${expected} bytes but its offsets span ${end - begin}`);
    if (end > dataLen) bad(`tensor '${name}' ends at byte ${end}, beyond the ${dataLen} bytes of data`);
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.begin < entries[i - 1]!.end) bad(`tensors '${entries[i - 1]!.name}' and '${entries[i]!.name}' overlap`);
  }
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    // Copy out so typed arrays are aligned whatever the offset. Not bytes.slice(): on a Node Buffer
    // (what readFileSync returns) slice() is a view into a shared pool, not a copy.
    const raw = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    const data =
      e.dtype === 'F32' ? new Float32Array(raw.buffer) : e.dtype === 'I64' ? new BigInt64Array(raw.buffer) : e.dtype === 'I32' ? new Int32Array(raw.buffer) : raw;
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
