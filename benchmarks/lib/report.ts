/** Benchmark reporting: repetition statistics, a plain-text table, and a small SVG line chart. */

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0] ?? 0, median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

/** Thousands separators, no decimals (or `digits`). */
export function num(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface ChartSeries {
  name: string;
  points: readonly { x: number; y: number }[];
}

export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Log scale on x (window sizes, value sizes). */
  logX?: boolean;
  series: readonly ChartSeries[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** Side-by-side line charts in one self-contained SVG (no fonts or scripts needed). */
export function svgChart(panels: readonly ChartPanel[], subtitle: string): string {
  const w = 460;
  const h = 300;
  const pad = { l: 80, r: 20, t: 40, b: 50 };
  const parts: string[] = [];
  panels.forEach((panel, p) => {
    const ox = p * w;
    const all = panel.series.flatMap((s) => s.points);
    const fx = (x: number): number => (panel.logX ? Math.log2(Math.max(x, 1)) : x);
    const xs = all.map((pt) => fx(pt.x));
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs, x0 + 1);
    const y1 = Math.max(...all.map((pt) => pt.y), 1) * 1.1;
    const px = (x: number): number => ox + pad.l + ((fx(x) - x0) / (x1 - x0)) * (w - pad.l - pad.r);
    const py = (y: number): number => h - pad.b - (y / y1) * (h - pad.t - pad.b);
    parts.push(`<text x="${ox + w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(panel.title)}</text>`);
    parts.push(`<line x1="${ox + pad.l}" y1="${h - pad.b}" x2="${ox + w - pad.r}" y2="${h - pad.b}" stroke="#333"/>`);
    parts.push(`<line x1="${ox + pad.l}" y1="${pad.t}" x2="${ox + pad.l}" y2="${h - pad.b}" stroke="#333"/>`);
    for (let k = 0; k <= 4; k++) {
      const y = (y1 / 4) * k;
      parts.push(`<text x="${ox + pad.l - 6}" y="${py(y) + 4}" text-anchor="end" font-size="11">${esc(short(y))}</text>`);
      parts.push(`<line x1="${ox + pad.l}" y1="${py(y)}" x2="${ox + w - pad.r}" y2="${py(y)}" stroke="#eee"/>`);
    }
    for (const x of [...new Set(all.map((pt) => pt.x))]) {
      parts.push(`<text x="${px(x)}" y="${h - pad.b + 16}" text-anchor="middle" font-size="11">${esc(short(x))}</text>`);
    }
    parts.push(`<text x="${ox + (w + pad.l) / 2}" y="${h - 12}" text-anchor="middle" font-size="12">${esc(panel.xLabel)}</text>`);
    parts.push(`<text transform="translate(${ox + 16},${h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(panel.yLabel)}</text>`);
    panel.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length]!;
      const path = s.points.map((pt, j) => `${j ? 'L' : 'M'}${px(pt.x).toFixed(1)},${py(pt.y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const pt of s.points) parts.push(`<circle cx="${px(pt.x).toFixed(1)}" cy="${py(pt.y).toFixed(1)}" r="3" fill="${color}"/>`);
      parts.push(`<text x="${ox + pad.l + 10}" y="${pad.t + 14 + 14 * i}" font-size="11" fill="${color}">${esc(s.name)}</text>`);
    });
  });
  const width = w * panels.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + 24}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}` +
    `<text x="${width / 2}" y="${h + 16}" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text></svg>\n`;
}

function short(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 0 : 1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e4 ? 0 : 1)}k`;
  return x >= 10 ? x.toFixed(0) : x.toFixed(1).replace(/\.0$/, '');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
