// PNG files as model input: decoded with pngjs, composited onto black, converted to the
// checkpoint's channels and resized (bilinear) to its input size when they differ.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { UserError } from '../../engine/errors.js';

export interface PngInput {
  /** C x H x W bytes. */
  bytes: Uint8Array;
  /** What was done to fit the model, e.g. 'resized from 100x80', or '' when nothing was. */
  note: string;
}

export function readPngInput(path: string, channels: number, height: number, width: number): PngInput {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (raw.length < 8 || signature.some((b, i) => raw[i] !== b)) throw new UserError(`${path}: not a PNG file (wrong signature)`);
  let png: PNG;
  try {
    png = PNG.sync.read(raw);
  } catch (e) {
    throw new UserError(`${path}: cannot decode PNG (${(e as Error).message}); the file may be truncated`);
  }
  const { width: w0, height: h0, data } = png;
  if (w0 < 1 || h0 < 1) throw new UserError(`${path}: empty image`);
  // Per pixel, per channel, composited over black (the datasets' background).
  const planes: Float32Array[] = [];
  for (let c = 0; c < channels; c++) planes.push(new Float32Array(w0 * h0));
  for (let i = 0; i < w0 * h0; i++) {
    const a = data[4 * i + 3]! / 255;
    const r = data[4 * i]! * a;
    const g = data[4 * i + 1]! * a;
    const b = data[4 * i + 2]! * a;
    if (channels === 1) planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      planes[0]![i] = r;
      planes[1]![i] = g;
      planes[2]![i] = b;
    }
  }
  const bytes = new Uint8Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    const src = planes[c]!;
    for (let y = 0; y < height; y++) {
      // Pixel centres aligned, as bilinear resizers do (align_corners=False).
      const sy = Math.min(h0 - 1, Math.max(0, ((y + 0.5) * h0) / height - 0.5));
      const y0 = Math.floor(sy);
      const y1 = Math.min(h0 - 1, y0 + 1);
      const fy = sy - y0;
      for (let x = 0; x < width; x++) {
        const sx = Math.min(w0 - 1, Math.max(0, ((x + 0.5) * w0) / width - 0.5));
        const x0 = Math.floor(sx);
        const x1 = Math.min(w0 - 1, x0 + 1);
        const fx = sx - x0;
        const v =
          (1 - fy) * ((1 - fx) * src[y0 * w0 + x0]! + fx * src[y0 * w0 + x1]!) + fy * ((1 - fx) * src[y1 * w0 + x0]! + fx * src[y1 * w0 + x1]!);
        bytes[(c * height + y) * width + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  const note = w0 !== width || h0 !== height ? `resized from ${w0}x${h0} to ${width}x${height}` : '';
  return { bytes, note };
}
