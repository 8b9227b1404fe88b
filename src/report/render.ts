// Rendering the report's blocks: report.md (relative image links) and a self-contained report.html
// (inline CSS, PNGs as data: URIs). Both come from one list of blocks so they always say the same thing.

export type Block =
  | { kind: 'h1' | 'h2' | 'h3' | 'p'; text: string }
  | { kind: 'ul'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; align?: ('l' | 'r')[] }
  | { kind: 'img'; file: string; alt: string }
  /** Markdown-only content (the confusion tables); HTML gets `html` instead. */
  | { kind: 'raw'; md: string; html: string };

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function mdTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  return [
    `| ${header.map(mdEscape).join(' | ')} |`,
    `|${a.map((x) => (x === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
        out.push(`# ${b.text}`);
        break;
      case 'h2':
        out.push(`## ${b.text}`);
        break;
      case 'h3':
        out.push(`### ${b.text}`);
        break;
      case 'p':
        out.push(b.text);
        break;
      case 'ul':
        out.push(b.items.map((i) => `- ${i}`).join('\n'));
        break;
      case 'table':
        out.push(mdTable(b.header, b.rows, b.align));
        break;
      case 'img':
        out.push(`![${b.alt}](${b.file})`);
        break;
      case 'raw':
        out.push(b.md);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes, then turns **bold** into <strong>. */
function inlineHtml(s: string): string {
  return escapeHtml(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
}

function htmlTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const cls = (i: number) => (a[i] === 'r' ? ' class="r"' : '');
  const head = header.some((h) => h) ? `<thead><tr>${header.map((h, i) => `<th${cls(i)}>${inlineHtml(h)}</th>`).join('')}</tr></thead>` : '';
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inlineHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

/** A markdown table (as confusionMarkdown writes it) as an HTML table. */
export function mdTableToHtml(md: string): string {
  const lines = md.split('\n').filter((l) => l.trim().startsWith('|'));
  const cells = (l: string) =>
    l
      .trim()
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|'));
  const header = cells(lines[0]!);
  const align = cells(lines[1]!).map((c) => (c.endsWith(':') ? 'r' : 'l') as 'l' | 'r');
  return htmlTable(header, lines.slice(2).map(cells), align);
}

const CSS = `
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b; max-width: 1240px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #e4e4e4; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #d8d8d8; padding: 4px 9px; text-align: left; }
th { background: #f3f5f8; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
img { max-width: 100%; height: auto; border: 1px solid #e6e6e6; display: block; margin: .8em 0; }
ul li { margin: .35em 0; }
`;

export function renderHtml(blocks: Block[], images: Map<string, Buffer>, title: string): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
      case 'h2':
      case 'h3':
        body.push(`<${b.kind}>${inlineHtml(b.text)}</${b.kind}>`);
        break;
      case 'p':
        body.push(`<p>${inlineHtml(b.text)}</p>`);
        break;
      case 'ul':
        body.push(`<ul>\n${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('\n')}\n</ul>`);
        break;
      case 'table':
        body.push(htmlTable(b.header, b.rows, b.align));
        break;
      case 'img': {
        const png = images.get(b.file);
        if (!png) throw new Error(`report: image ${b.file} was not rendered`);
        body.push(`<img alt="${escapeHtml(b.alt)}" title="${escapeHtml(b.file)}" src="data:image/png;base64,${png.toString('base64')}">`);
        break;
      }
      case 'raw':
        body.push(b.html);
        break;
    }
  }
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    `<style>${CSS}</style>\n</head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`
  );
}

