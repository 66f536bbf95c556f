/**
 * Small HTML and SVG builders for the report. Every piece of data goes through `esc`: the
 * trajectories are model output, so they are untrusted text and never markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A number for display: integers as is, else `digits` decimals. */
export function num(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(digits);
}

export function htmlTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, className = ''): string {
  const head = `<tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="n"' : ''}>${esc(typeof c === 'number' ? num(c) : c)}</td>`).join('')}</tr>`).join('');
  return `<table${className === '' ? '' : ` class="${esc(className)}"`}><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Bins `[value, count]` pairs into at most `maxBins` equal-width integer bins. */
export function binHistogram(entries: ReadonlyArray<readonly [number, number]>, maxBins = 30): Array<{ lo: number; hi: number; count: number }> {
  if (entries.length === 0) return [];
  const min = entries[0]![0];
  const max = entries.at(-1)![0];
  const width = Math.max(1, Math.ceil((max - min + 1) / maxBins));
  const bins: Array<{ lo: number; hi: number; count: number }> = [];
  for (let lo = min; lo <= max; lo += width) bins.push({ lo, hi: lo + width - 1, count: 0 });
  for (const [value, count] of entries) bins[Math.floor((value - min) / width)]!.count += count;
  return bins;
}

/**
 * A vertical histogram as inline SVG. `marks` draws dashed reference lines (our mean, the
 * paper's mean) at their x position.
 */
export function svgHistogram(
  title: string,
  entries: ReadonlyArray<readonly [number, number]>,
  marks: ReadonlyArray<{ value: number; label: string; color: string }> = [],
): string {
  const w = 420;
  const h = 220;
  const pad = { l: 40, r: 10, t: 26, b: 34 };
  const bins = binHistogram(entries);
  const head = `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg"><text x="${pad.l}" y="16" class="title">${esc(title)}</text>`;
  if (bins.length === 0) return `${head}<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  const lo = Math.min(bins[0]!.lo, ...marks.filter((m) => Number.isFinite(m.value)).map((m) => Math.floor(m.value)));
  // The axis reaches the reference marks too, so the paper's mean shows where it lies.
  const hi = Math.max(bins.at(-1)!.hi + 1, ...marks.filter((m) => Number.isFinite(m.value)).map((m) => Math.ceil(m.value) + 1));
  const maxCount = Math.max(...bins.map((b) => b.count));
  const plotW = w - pad.l - pad.r;
  const plotH = h - pad.t - pad.b;
  const x = (v: number): number => pad.l + ((v - lo) / (hi - lo)) * plotW;
  const y = (c: number): number => pad.t + plotH - (c / maxCount) * plotH;
  const bars = bins
    .map((b) => {
      const bx = x(b.lo);
      const bw = Math.max(1, x(b.hi + 1) - bx - 1);
      const range = b.lo === b.hi ? `${b.lo}` : `${b.lo}–${b.hi}`;
      return `<rect x="${bx.toFixed(1)}" y="${y(b.count).toFixed(1)}" width="${bw.toFixed(1)}" height="${(pad.t + plotH - y(b.count)).toFixed(1)}" class="bar"><title>${esc(`${range}: ${b.count}`)}</title></rect>`;
    })
    .join('');
  const axis = `<line x1="${pad.l}" y1="${pad.t + plotH}" x2="${w - pad.r}" y2="${pad.t + plotH}" class="axis"/>` +
    `<text x="${pad.l}" y="${h - 18}" class="tick">${esc(lo)}</text>` +
    `<text x="${w - pad.r}" y="${h - 18}" text-anchor="end" class="tick">${esc(hi - 1)}</text>` +
    `<text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end" class="tick">${esc(maxCount)}</text>` +
    `<text x="${pad.l - 4}" y="${pad.t + plotH}" text-anchor="end" class="tick">0</text>`;
  const markSvg = marks
    .filter((m) => Number.isFinite(m.value))
    .map((m, i) => {
      const mx = x(m.value + 0.5);
      return `<line x1="${mx.toFixed(1)}" y1="${pad.t}" x2="${mx.toFixed(1)}" y2="${pad.t + plotH}" stroke="${esc(m.color)}" stroke-dasharray="4 3" stroke-width="1.5"/>` +
        `<text x="${pad.l + i * 140}" y="${h - 4}" class="tick" fill="${esc(m.color)}">${esc(m.label)}</text>`;
    })
    .join('');
  return `${head}${bars}${axis}${markSvg}</svg>`;
}

/** Horizontal bars with a label and a value on each row. */
export function svgBars(title: string, rows: ReadonlyArray<{ label: string; value: number; note?: string | undefined }>, width = 640): string {
  const rowH = 22;
  const labelW = 190;
  const valueW = 110;
  const h = 28 + rows.length * rowH + 6;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const plotW = width - labelW - valueW;
  const bars = rows
    .map((r, i) => {
      const y = 28 + i * rowH;
      const bw = (r.value / max) * plotW;
      return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end" class="label">${esc(r.label)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${Math.max(r.value > 0 ? 1 : 0, bw).toFixed(1)}" height="${rowH - 6}" class="bar"><title>${esc(`${r.label}: ${r.value}`)}</title></rect>` +
        `<text x="${(labelW + bw + 4).toFixed(1)}" y="${y + 15}" class="tick">${esc(num(r.value))}${r.note === undefined ? '' : ` ${esc(r.note)}`}</text>`;
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" xmlns="http://www.w3.org/2000/svg"><text x="4" y="16" class="title">${esc(title)}</text>${bars}</svg>`;
}
