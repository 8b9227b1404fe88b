import { describe, it, expect } from 'vitest';
import { PNG } from 'pngjs';
import { Raster, glyph, measureText, fitText, asciiText, WHITE, type Rgb } from '../../src/report/raster.js';

const INK: Rgb = [0, 0, 0];

function inkPixels(r: Raster): { count: number; minX: number; maxX: number; minY: number; maxY: number } {
  let count = 0;
  let minX = Infinity;
  let maxX = -1;
  let minY = Infinity;
  let maxY = -1;
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const [a, b, c] = r.getPixel(x, y);
      if (a !== 255 || b !== 255 || c !== 255) {
        count++;
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  }
  return { count, minX, maxX, minY, maxY };
}

describe('raster: bitmap font', () => {
  it('has a distinct glyph for every printable ASCII character', () => {
    const seen = new Map<string, string>();
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      const key = Array.from(glyph(ch)).join(',');
      if (ch !== ' ') expect(key, `glyph ${ch} is empty`).not.toBe('0,0,0,0,0,0,0,0,0');
      expect(seen.get(key), `${ch} looks like ${seen.get(key)}`).toBeUndefined();
      seen.set(key, ch);
    }
    expect(seen.size).toBe(95);
  });

  it('draws glyph pixels inside the measured box, and different text draws differently', () => {
    const a = new Raster(60, 20);
    a.text('Ag/%', 2, 2, INK);
    const ink = inkPixels(a);
    expect(ink.count).toBeGreaterThan(20);
    const m = measureText('Ag/%');
    expect(m.width).toBe(4 * 6 - 1);
    expect(ink.minX).toBeGreaterThanOrEqual(2);
    expect(ink.maxX).toBeLessThan(2 + m.width);
    expect(ink.maxY).toBeLessThan(2 + 9); // 'g' reaches into the descender rows
    expect(ink.maxY).toBeGreaterThan(2 + 6);

    const b = new Raster(60, 20);
    b.text('Ag/$', 2, 2, INK);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(false);
    for (const [x, y] of [
      ['0', 'O'],
      ['1', 'l'],
      ['(', '['],
      ['.', ','],
    ] as const) {
      const rx = new Raster(10, 12);
      const ry = new Raster(10, 12);
      rx.text(x, 1, 1, INK);
      ry.text(y, 1, 1, INK);
      expect(Buffer.from(rx.data).equals(Buffer.from(ry.data)), `${x} vs ${y}`).toBe(false);
    }
  });

  it('scales text by an integer factor', () => {
    const r1 = new Raster(40, 20);
    const r2 = new Raster(80, 40);
    r1.text('H', 0, 0, INK);
    r2.text('H', 0, 0, INK, { scale: 2 });
    expect(inkPixels(r2).count).toBe(4 * inkPixels(r1).count);
  });

  it('rotates text 90 degrees for y-axis labels (taller than wide)', () => {
    const r = new Raster(30, 120);
    r.text('accuracy (%)', 5, 110, INK, { rotate: 'up' });
    const ink = inkPixels(r);
    expect(ink.maxY - ink.minY).toBeGreaterThan(50);
    expect(ink.maxX - ink.minX).toBeLessThan(12);
    expect(ink.maxY).toBeLessThanOrEqual(110);
  });

  it('fits text into a width and maps non-ASCII to look-alikes', () => {
    expect(fitText('automobile', 1000)).toBe('automobile');
    const cut = fitText('pred: automobile', 60);
    expect(measureText(cut).width).toBeLessThanOrEqual(60);
    expect(cut.endsWith('.')).toBe(true);
    expect(asciiText('a \u2014 b \u00d7 2')).toBe('a - b x 2');
  });
});

describe('raster: drawing and PNG', () => {
  it('encodes a PNG that pngjs decodes to the same pixels', () => {
    const r = new Raster(37, 23);
    r.fillRect(3, 4, 5, 6, [200, 10, 20]);
    r.line(0, 22, 36, 0, [0, 0, 255], 2);
    const png = PNG.sync.read(r.toPng());
    expect([png.width, png.height]).toEqual([37, 23]);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * 37 + x) * 4, (y * 37 + x) * 4 + 4));
    expect(at(5, 6)).toEqual([200, 10, 20, 255]);
    expect(at(36, 22)).toEqual([255, 255, 255, 255]);
  });

  it('leaves gaps in dashed lines, none in solid ones', () => {
    const solid = new Raster(100, 5);
    const dashed = new Raster(100, 5);
    solid.line(0, 2, 99, 2, INK);
    dashed.line(0, 2, 99, 2, INK, 1, [6, 4]);
    expect(inkPixels(solid).count).toBe(100);
    const n = inkPixels(dashed).count;
    expect(n).toBeGreaterThan(50);
    expect(n).toBeLessThan(70);
    // The dash pattern continues across a polyline's vertices.
    const poly = new Raster(100, 5);
    poly.polyline([[0, 2], [33, 2], [66, 2], [99, 2]], INK, 1, [6, 4]);
    expect(inkPixels(poly).count).toBe(n);
  });

  it('draws markers and circles', () => {
    const r = new Raster(30, 30);
    r.marker(15, 15, INK, 'circle', 7);
    const ink = inkPixels(r);
    expect(ink.maxX - ink.minX).toBe(6);
    r.circle(15, 15, 12, [255, 0, 0], false);
    expect(r.getPixel(27, 15)).toEqual([255, 0, 0]);
    expect(r.getPixel(15, 15)).toEqual([0, 0, 0]);
  });

  it('enlarges grayscale and CHW RGB images by nearest neighbour', () => {
    const gray = new Uint8Array([0, 100, 200, 255]);
    const r = new Raster(10, 10, WHITE);
    r.blitImage({ data: gray, channels: 1, height: 2, width: 2 }, 1, 1, 3);
    expect(r.getPixel(1, 1)).toEqual([0, 0, 0]);
    expect(r.getPixel(3, 3)).toEqual([0, 0, 0]);
    expect(r.getPixel(4, 1)).toEqual([100, 100, 100]);
    expect(r.getPixel(6, 6)).toEqual([255, 255, 255]);
    expect(r.getPixel(1, 4)).toEqual([200, 200, 200]);
    // 2 images of 3x1x2 (CHW); draw the second: R plane [10, 20], G [30, 40], B [50, 60].
    const rgb = new Uint8Array([0, 0, 0, 0, 0, 0, 10, 20, 30, 40, 50, 60]);
    const q = new Raster(4, 2);
    q.blitImage({ data: rgb, offset: 6, channels: 3, height: 1, width: 2 }, 0, 0, 2);
    expect(q.getPixel(0, 0)).toEqual([10, 30, 50]);
    expect(q.getPixel(3, 1)).toEqual([20, 40, 60]);
    expect(() => q.blitImage({ data: rgb, offset: 8, channels: 3, height: 1, width: 2 }, 0, 0)).toThrow(/outside/);
  });
});
