// A small RGB raster for the report's figures: rectangles, lines (solid and dashed), markers,
// nearest-neighbour enlargement of dataset images, and text in a built-in 5x9 bitmap font (cap
// height 7, two rows of descender). PNG encoding goes through pngjs; nothing else is needed.
import { PNG } from 'pngjs';

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

// ---------------------------------------------------------------------------------------------
// Font. Each glyph is 5 columns wide; rows are separated by spaces, '#' is ink. Glyphs with 7 rows
// sit on the baseline (row 6); glyphs with descenders (g j p q y , ;) give all 9 rows.
// Every printable ASCII character (0x20..0x7e) has a glyph; anything else draws as '?'.

const GLYPH_W = 5;
const GLYPH_H = 9;
/** Horizontal advance and line height, in unscaled pixels. */
export const CHAR_ADVANCE = 6;
export const LINE_HEIGHT = 11;
/** Height of capitals (and digits) above the baseline, unscaled. */
export const CAP_HEIGHT = 7;

const FONT_SRC: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  "'": '..#.. ..#.. ..... ..... ..... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. ..#.. .#... .....',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '@': '.###. #...# ....# .##.# #.#.# #.#.# .###.',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  '\\': '#.... #.... .#... ..#.. ...#. ....# ....#',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '^': '..#.. .#.#. #...# ..... ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... ..... ..... #####',
  '`': '.#... ..#.. ..... ..... ..... ..... .....',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '{': '...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '}': '.#... ..#.. ..#.. ...#. ..#.. ..#.. .#...',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
};

/** Glyph bitmaps, GLYPH_H rows of GLYPH_W bits (bit 4 = leftmost column), by char code. */
const FONT: Map<number, Uint8Array> = (() => {
  const m = new Map<number, Uint8Array>();
  for (const [ch, src] of Object.entries(FONT_SRC)) {
    const rows = src.split(' ');
    if ((rows.length !== 7 && rows.length !== GLYPH_H) || rows.some((r) => r.length !== GLYPH_W)) {
      throw new Error(`bitmap font: glyph ${JSON.stringify(ch)} is malformed`);
    }
    const bits = new Uint8Array(GLYPH_H);
    rows.forEach((r, y) => {
      for (let x = 0; x < GLYPH_W; x++) if (r[x] === '#') bits[y]! |= 1 << (GLYPH_W - 1 - x);
    });
    m.set(ch.charCodeAt(0), bits);
  }
  return m;
})();

/** The glyph bitmap of a character (rows of 5 bits), '?' for characters the font lacks. */
export function glyph(ch: string): Uint8Array {
  return FONT.get(ch.charCodeAt(0)) ?? FONT.get(63)!;
}

/** Replaces characters the font cannot draw with ASCII look-alikes or '?'. */
export function asciiText(s: string): string {
  return s
    .replace(/[\u2013\u2014\u2212]/g, '-')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\u00d7/g, 'x')
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e]/g, '?');
}

export interface TextOptions {
  /** Integer pixel scale (1 = 5x7 capitals). */
  scale?: number;
  /** 'up' draws the text rotated 90° counter-clockwise, reading bottom to top (y-axis labels). */
  rotate?: 'none' | 'up';
  /** Horizontal alignment relative to x (for 'up', alignment along the text direction, about y). */
  align?: 'left' | 'center' | 'right';
  /** Where y is: the top of the line box, the middle of the capitals, or the baseline. */
  baseline?: 'top' | 'middle' | 'bottom';
  /** Draws every glyph twice, one pixel apart, for headings. */
  bold?: boolean;
}

/** Width and height in pixels of one line of text (unrotated). */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const n = asciiText(text).length;
  return { width: n === 0 ? 0 : (n * CHAR_ADVANCE - 1) * scale, height: LINE_HEIGHT * scale };
}

/** measureText with the extra column that bold text adds. */
export function measureTextBold(text: string, scale = 1): { width: number; height: number } {
  const m = measureText(text, scale);
  return { width: m.width ? m.width + 1 : 0, height: m.height };
}

/** Cuts text to at most `maxWidth` pixels, ending with '.' when it had to be shortened. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  const s = asciiText(text);
  const maxChars = Math.floor((maxWidth / scale + 1) / CHAR_ADVANCE);
  if (s.length <= maxChars) return s;
  if (maxChars <= 1) return s.slice(0, Math.max(0, maxChars));
  return `${s.slice(0, maxChars - 1)}.`;
}

// ---------------------------------------------------------------------------------------------

export interface ImageSource {
  /** Bytes in C x H x W order (channel-major), as the dataset stores them. */
  data: Uint8Array;
  /** Offset of the image's first byte in `data`. */
  offset?: number;
  channels: number;
  height: number;
  width: number;
}

export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new Error(`Raster: bad size ${width}x${height}`);
    }
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }

  getPixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  /** Mixes c into the pixel with weight alpha in [0, 1]. */
  blendPixel(x: number, y: number, c: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const a = Math.min(1, alpha);
    const i = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++) this.data[i + k] = Math.round(this.data[i + k]! * (1 - a) + c[k]! * a);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.data[i] = c[0];
        this.data[i + 1] = c[1];
        this.data[i + 2] = c[2];
      }
    }
  }

  /** A 1-pixel (or `lineWidth`) outline drawn inside the rectangle. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, lineWidth = 1): void {
    this.fillRect(x, y, w, lineWidth, c);
    this.fillRect(x, y + h - lineWidth, w, lineWidth, c);
    this.fillRect(x, y, lineWidth, h, c);
    this.fillRect(x + w - lineWidth, y, lineWidth, h, c);
  }

  /** A square pen of side `width` centred on (x, y). */
  private stamp(x: number, y: number, c: Rgb, width: number): void {
    if (width <= 1) {
      this.setPixel(x, y, c);
      return;
    }
    const lo = -Math.floor((width - 1) / 2);
    for (let dy = lo; dy < lo + width; dy++) for (let dx = lo; dx < lo + width; dx++) this.setPixel(x + dx, y + dy, c);
  }

  /**
   * A straight line by Bresenham's algorithm, `width` pixels thick (square pen). With a dash
   * pattern [on, off] (pixels along the line), only the "on" stretches are drawn; `phase` is how
   * far into the pattern the line starts, and the return value is the phase at its end, so a
   * polyline's dashes run on across its vertices.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1, dash?: readonly [number, number], phase = 0): number {
    let x = Math.round(x0);
    let y = Math.round(y0);
    const xe = Math.round(x1);
    const ye = Math.round(y1);
    const dx = Math.abs(xe - x);
    const dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1;
    const sy = y < ye ? 1 : -1;
    let err = dx + dy;
    const period = dash ? dash[0] + dash[1] : 0;
    let p = phase;
    const stepLen = Math.max(dx, -dy) === 0 ? 0 : Math.hypot(dx, dy) / Math.max(dx, -dy);
    for (;;) {
      if (!dash || p % period < dash[0]) this.stamp(x, y, c, width);
      if (x === xe && y === ye) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
      p += stepLen;
    }
    return period ? p % period : 0;
  }

  /** Connected segments; dashes continue across vertices. */
  polyline(points: readonly (readonly [number, number])[], c: Rgb, width = 1, dash?: readonly [number, number]): void {
    let phase = 0;
    for (let i = 1; i < points.length; i++) {
      phase = this.line(points[i - 1]![0], points[i - 1]![1], points[i]![0], points[i]![1], c, width, dash, phase);
    }
  }

  /** A disc (filled) or ring (outline) of radius r. */
  circle(cx: number, cy: number, r: number, c: Rgb, fill = true): void {
    const x0 = Math.round(cx);
    const y0 = Math.round(cy);
    const R = Math.ceil(r);
    for (let dy = -R; dy <= R; dy++) {
      for (let dx = -R; dx <= R; dx++) {
        const d = Math.hypot(dx, dy);
        if (fill ? d <= r + 0.3 : Math.abs(d - r) <= 0.6) this.setPixel(x0 + dx, y0 + dy, c);
      }
    }
  }

  /** A data-point marker: disc, square or diamond of roughly `size` pixels across. */
  marker(cx: number, cy: number, c: Rgb, shape: 'circle' | 'square' | 'diamond' = 'circle', size = 7): void {
    const h = Math.floor(size / 2);
    const x0 = Math.round(cx);
    const y0 = Math.round(cy);
    if (shape === 'circle') this.circle(x0, y0, size / 2, c, true);
    else if (shape === 'square') this.fillRect(x0 - h + 1, y0 - h + 1, 2 * h - 1, 2 * h - 1, c);
    else for (let dy = -h; dy <= h; dy++) for (let dx = -h; dx <= h; dx++) if (Math.abs(dx) + Math.abs(dy) <= h) this.setPixel(x0 + dx, y0 + dy, c);
  }

  /**
   * Draws a dataset image enlarged `scale` times by nearest neighbour, top-left at (x, y). One
   * channel is grayscale; three channels are the R, G and B planes of a CHW image.
   */
  blitImage(src: ImageSource, x: number, y: number, scale = 1): void {
    const { data, channels, height, width } = src;
    const off = src.offset ?? 0;
    const plane = height * width;
    if (channels !== 1 && channels !== 3) throw new Error(`blitImage: ${channels} channels (expected 1 or 3)`);
    if (off + channels * plane > data.length) throw new Error('blitImage: image lies outside its buffer');
    for (let r = 0; r < height; r++) {
      for (let col = 0; col < width; col++) {
        const p = off + r * width + col;
        const v0 = data[p]!;
        const c: Rgb = channels === 1 ? [v0, v0, v0] : [v0, data[p + plane]!, data[p + 2 * plane]!];
        this.fillRect(x + col * scale, y + r * scale, scale, scale, c);
      }
    }
  }

  /** Copies another raster onto this one, top-left at (x, y). */
  blit(src: Raster, x: number, y: number): void {
    for (let r = 0; r < src.height; r++) {
      const ty = y + r;
      if (ty < 0 || ty >= this.height) continue;
      for (let col = 0; col < src.width; col++) {
        const tx = x + col;
        if (tx < 0 || tx >= this.width) continue;
        const i = (r * src.width + col) * 3;
        const j = (ty * this.width + tx) * 3;
        this.data[j] = src.data[i]!;
        this.data[j + 1] = src.data[i + 1]!;
        this.data[j + 2] = src.data[i + 2]!;
      }
    }
  }

  /**
   * Draws one line of text in the built-in font. Returns the drawn box's width and height (for
   * rotated text: the width along the text, i.e. its vertical extent on the raster).
   */
  text(str: string, x: number, y: number, c: Rgb, opts: TextOptions = {}): { width: number; height: number } {
    const s = asciiText(str);
    const scale = Math.max(1, Math.round(opts.scale ?? 1));
    const { width, height } = measureText(s, scale);
    const align = opts.align ?? 'left';
    const baseline = opts.baseline ?? 'top';
    // Offset of the line box's top from y, measured across the text direction.
    const across = baseline === 'top' ? 0 : baseline === 'middle' ? -Math.floor((CAP_HEIGHT * scale) / 2) : -CAP_HEIGHT * scale;
    const along = align === 'left' ? 0 : align === 'center' ? -Math.floor(width / 2) : -width;
    const up = opts.rotate === 'up';
    for (let k = 0; k < s.length; k++) {
      const bits = glyph(s[k]!);
      for (let gy = 0; gy < GLYPH_H; gy++) {
        const row = bits[gy]!;
        if (!row) continue;
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (!(row & (1 << (GLYPH_W - 1 - gx)))) continue;
          // (u, v): position along and across the text, in raster pixels.
          const u = along + (k * CHAR_ADVANCE + gx) * scale;
          const v = across + gy * scale;
          const w = opts.bold ? scale + 1 : scale;
          if (up) this.fillRect(x + v, y - u - w, scale, w, c);
          else this.fillRect(x + u, y + v, w, scale, c);
        }
      }
    }
    return { width, height };
  }

  /** PNG bytes (8-bit RGB, no alpha) through pngjs. */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  }
}
