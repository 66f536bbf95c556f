/**
 * `gemtraj report <dir>` → `<dir>/report.html`: one self-contained file (inline CSS, inline
 * SVG charts drawn here, no script, no external asset) that can be mailed or archived with
 * the dataset. The page carries a Content-Security-Policy that forbids scripts, and every
 * value is escaped: model output is untrusted, and a `<script>` in a message stays text.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from '../io/jsonl.js';
import { formatCost, formatSaved, type UsageFigures } from '../llm/usage.js';
import { RUN_FILES } from '../pipeline/run-dir.js';
import type { Message, Segment, Trajectory } from '../records.js';
import { VERSION } from '../version.js';
import { esc, htmlTable, num, svgBars, svgHistogram } from './html-kit.js';
import { analyzeRun, formatDuration, type RunAnalysis } from './run-analysis.js';
import { compareToPaper, PAPER_REFERENCE, readTrajectories, SHAPE_KEYS, SHAPE_LABELS, type ShapeKey } from './stats.js';

export const REPORT_FILE = 'report.html';

export interface ReportSample {
  trajectory: Trajectory;
  segment: Pick<Segment, 'id' | 'text' | 'heading'> | undefined;
}

/** Positions of `k` samples spread over `count` records (first, middle, last third…). */
export function samplePositions(count: number, k: number): number[] {
  if (count <= k) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor(((2 * i + 1) * count) / (2 * k)));
}

/** Streams trajectories.jsonl for `k` spread samples, then segments.jsonl for their source text. */
export async function pickSamples(dir: string, count: number, k = 3): Promise<ReportSample[]> {
  const file = join(dir, RUN_FILES.final);
  if (!existsSync(file) || count === 0) return [];
  const wanted = new Set(samplePositions(count, k));
  const picked: Trajectory[] = [];
  let i = 0;
  for await (const t of readTrajectories(file)) {
    if (wanted.has(i)) picked.push(t);
    i++;
    if (picked.length === wanted.size) break;
  }
  const segIds = new Set(picked.map((t) => t.source.segment_id).filter((s): s is string => s !== undefined));
  const segments = new Map<string, ReportSample['segment']>();
  const segFile = join(dir, RUN_FILES.segments);
  if (segIds.size > 0 && existsSync(segFile)) {
    for await (const entry of readJsonl(segFile)) {
      const s = entry.value as Partial<Segment> | undefined;
      if (s === null || typeof s !== 'object' || typeof s.id !== 'string' || !segIds.has(s.id)) continue;
      segments.set(s.id, { id: s.id, text: String(s.text ?? ''), heading: s.heading });
      if (segments.size === segIds.size) break;
    }
  }
  return picked.map((trajectory) => ({
    trajectory,
    segment: trajectory.source.segment_id === undefined ? undefined : segments.get(trajectory.source.segment_id),
  }));
}

const CSS = `
:root{--fg:#1d2330;--muted:#6b7385;--bg:#f6f7fb;--card:#fff;--accent:#3565d8;--line:#dfe3ec;--user:#e4edff;--asst:#f1f2f6;--tool:#fbf6e9;--bad:#b3261e}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted);fill:var(--muted)}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}.grid{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;background:var(--card);margin:6px 0 12px;font-size:13px}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef1f7}
svg.chart{background:var(--card);border:1px solid var(--line);border-radius:8px;max-width:100%;height:auto}svg .bar{fill:var(--accent);opacity:.85}svg .axis{stroke:var(--muted)}svg .title{font-weight:600;font-size:13px;fill:var(--fg)}svg .tick,svg .label{font-size:11px;fill:var(--muted)}svg .label{fill:var(--fg)}
.sample{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;margin:14px 0}.chat{display:flex;flex-direction:column;gap:8px;margin-top:8px}
.msg{max-width:82%;border-radius:10px;padding:8px 10px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}.msg .who{font-size:11px;color:var(--muted);display:block;margin-bottom:2px;white-space:normal}
.user{align-self:flex-end;background:var(--user)}.assistant{align-self:flex-start;background:var(--asst)}.tool{align-self:flex-start;background:var(--tool);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;max-height:260px;overflow:auto}
.system{background:#f4f0fa;font-size:12px}.call{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:4px 6px;margin-top:4px;white-space:pre-wrap}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px;max-height:320px;overflow:auto;font-size:12px}details>summary{cursor:pointer;color:var(--accent)}
.warn{color:var(--bad)}
`;

function prettyArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args; // not JSON: shown as the model wrote it
  }
}

function renderMessage(m: Message): string {
  switch (m.role) {
    case 'system':
      return `<details class="msg system"><summary>system prompt (${esc(m.content.length)} chars)</summary>${esc(m.content)}</details>`;
    case 'user':
      return `<div class="msg user"><span class="who">user</span>${esc(m.content)}</div>`;
    case 'assistant': {
      const calls = (m.tool_calls ?? [])
        .map((c) => `<div class="call">→ ${esc(c.function.name)}(${esc(prettyArgs(c.function.arguments))}) <span class="muted">${esc(c.id)}</span></div>`)
        .join('');
      const text = m.content === null || m.content === undefined || m.content === '' ? '' : esc(m.content);
      return `<div class="msg assistant"><span class="who">assistant</span>${text}${calls}</div>`;
    }
    case 'tool':
      return `<div class="msg tool"><span class="who">tool ${esc(m.name ?? '')} ← ${esc(m.tool_call_id)}</span>${esc(prettyArgs(m.content))}</div>`;
  }
}

/** One trajectory as chat bubbles, with its tools and source text behind `<details>`. */
export function renderTrajectory(t: Trajectory, segment?: ReportSample['segment']): string {
  const meta = t.meta ?? {};
  const tools = t.tools
    .map((tool) => `<li><b>${esc(tool.function.name)}</b> — ${esc(tool.function.description ?? '')}<pre>${esc(JSON.stringify(tool.function.parameters ?? {}, null, 2))}</pre></li>`)
    .join('');
  const warnings = (t.meta?.warnings ?? []).map((w) => `<li class="warn">${esc(w.check)}${w.path !== undefined ? ` at ${esc(w.path)}` : ''}: ${esc(w.message)}</li>`).join('');
  const patterns = Array.isArray(meta.patterns) ? meta.patterns.map(String).join(', ') : '';
  return `<div class="sample">
<div><b>${esc(t.id)}</b> <span class="muted">domain ${esc(t.domain ?? '-')} · stage ${esc(meta.stage ?? '-')} · ${esc(t.messages.length)} messages · ${esc(t.tools.length)} tools · source ${esc(t.source.segment_id ?? t.source.doc_id)}</span></div>
${patterns !== '' ? `<div class="muted">patterns: ${esc(patterns)}</div>` : ''}
${t.meta?.judge !== undefined ? `<div class="muted">judge: ${esc(Object.entries(t.meta.judge).map(([k, v]) => `${k}=${v}`).join(' '))}</div>` : ''}
${warnings !== '' ? `<ul>${warnings}</ul>` : ''}
<details><summary>${esc(t.tools.length)} tool schemas</summary><ul>${tools}</ul></details>
${segment !== undefined ? `<details><summary>source segment ${esc(segment.id)}</summary><pre>${esc(segment.text)}</pre></details>` : ''}
<div class="chat">${t.messages.map(renderMessage).join('\n')}</div>
</div>`;
}

function usageRows(a: RunAnalysis): Array<Array<string | number>> {
  const rows: Array<Array<string | number>> = [];
  const row = (stage: string, model: string, f: UsageFigures): Array<string | number> => [
    stage,
    model,
    f.calls,
    f.cached_calls,
    f.failed_calls,
    f.retries,
    f.prompt_tokens,
    f.completion_tokens,
    formatCost(f),
    formatSaved(f),
  ];
  const usage = a.usage;
  if (usage === undefined) return rows;
  for (const [stage, models] of Object.entries(usage.by_stage)) for (const [model, f] of Object.entries(models ?? {})) rows.push(row(stage, model, f));
  rows.push(row('total', '', usage.totals));
  return rows;
}

/** The report page for an analysed run and its samples. */
export function renderReport(a: RunAnalysis, samples: ReportSample[], generatedAt = new Date()): string {
  const f = a.funnel;
  const s = a.stats;
  const run = a.runJson;
  const totals = a.usage?.totals;
  const passedShare = f.generated === 0 ? '-' : `${((f.passed / f.generated) * 100).toFixed(1)}%`;
  const cards = [
    ['trajectories passed', num(f.passed)],
    ['passed / generated', passedShare],
    ['cost', totals === undefined ? '-' : formatCost(totals)],
    ['cost / trajectory', totals === undefined || f.passed === 0 || (totals.unpriced_calls ?? 0) > 0 ? '-' : `$${(totals.cost_usd / f.passed).toFixed(5)}`],
    ['calls (paid + cached)', totals === undefined ? '-' : `${num(totals.calls)} + ${num(totals.cached_calls)}`],
    ['wall time', a.duration_s === undefined ? '-' : formatDuration(a.duration_s)],
    ...(f.duplicates > 0 ? [['duplicate segments', num(f.duplicates)]] : []),
    ...(f.contaminated > 0 ? [['contaminated (benchmark text)', num(f.contaminated)]] : []),
    ...(s.near_identical.count > 0 ? [['near-identical trajectories', num(s.near_identical.count)]] : []),
  ]
    .map(([k, v]) => `<div class="card"><span class="muted">${esc(k)}</span><b>${esc(v)}</b></div>`)
    .join('');

  // One bar per step of the command: what each step passed on (derived from its step list).
  const funnelRows: Array<{ label: string; value: number; note?: string | undefined }> = [
    { label: 'documents', value: f.documents },
    ...f.steps.map((step) => {
      const notes = [
        step.rejected > 0 ? `${step.rejected} rejected` : '',
        step.dropped > 0 ? `${step.dropped} dropped` : '',
        step.pending > 0 ? `${step.pending} pending` : '',
        step.tally.fallback !== undefined ? `${step.tally.fallback} kept original` : '',
      ].filter(Boolean);
      return { label: step.step, value: step.out - step.dropped, note: notes.length > 0 ? `(${notes.join(', ')})` : undefined };
    }),
  ];
  const rejections = Object.entries(f.rejections).flatMap(([stage, checks]) =>
    Object.entries(checks)
      .sort((x, y) => y[1] - x[1])
      .map(([check, n]): Array<string | number> => [stage, check, n]),
  );

  const shapeTable = htmlTable(
    ['per trajectory', 'mean', 'median', 'p10', 'p90', 'max'],
    SHAPE_KEYS.map((k) => [SHAPE_LABELS[k], s.shape[k].mean, s.shape[k].median, s.shape[k].p10, s.shape[k].p90, s.shape[k].max]),
  );
  // Refine figures only for a command that has a refine step (not synthesize mode).
  const refine = f.steps.some((step) => step.step === 'refine');
  const paperTable = htmlTable(
    ['', 'ours mean', 'ours median', 'paper mean', 'paper median', ...(refine ? ['ours before refine', 'paper before refine'] : [])],
    compareToPaper(s, a.rawStats).map((r) => [
      SHAPE_LABELS[r.figure],
      r.mean,
      r.median,
      r.paper_mean,
      r.paper_median ?? '-',
      ...(refine ? [r.before_mean ?? '-', r.paper_before_mean] : []),
    ]),
  );
  const histogram = (k: ShapeKey & keyof typeof PAPER_REFERENCE.refined): string =>
    svgHistogram(`${SHAPE_LABELS[k]} per trajectory`, s.histograms[k], [
      { value: s.shape[k].mean, label: `ours mean ${num(s.shape[k].mean)}`, color: '#d8572a' },
      { value: PAPER_REFERENCE.refined[k].mean, label: `paper mean ${PAPER_REFERENCE.refined[k].mean}`, color: '#2a9d4b' },
    ]);
  const dist = (title: string, map: Record<string, number>): string => {
    const entries = Object.entries(map);
    const top = entries.slice(0, 15).map(([label, value]) => ({ label, value, note: s.count > 0 ? `(${((value / s.count) * 100).toFixed(1)}%)` : undefined }));
    if (entries.length > 15) top.push({ label: `${entries.length - 15} others`, value: entries.slice(15).reduce((sum, [, n]) => sum + n, 0), note: undefined });
    return top.length === 0 ? '' : svgBars(title, top);
  };
  const judgeRows = Object.entries(a.judge.rubrics).map(([r, v]): Array<string | number> => [r, v.pass, v.fail, `${(v.pass_rate * 100).toFixed(1)}%`]);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gemtraj report — ${esc(a.dir)}</title><style>${CSS}</style></head>
<body><main>
<h1>gemtraj report</h1>
<div class="muted">${esc(a.dir)} · ${esc(a.command)}${run?.input !== undefined ? ` · input ${esc(run.input)}` : ''} · status ${esc(run?.status ?? '-')} · gemtraj ${esc(run?.gemtraj_version ?? VERSION)} · generated ${esc(generatedAt.toISOString())}</div>
<div class="cards">${cards}</div>

<h2>Funnel</h2>
${svgBars('records per step', funnelRows)}
<p class="${f.balanced ? 'muted' : 'warn'}">${f.balanced ? 'accounting: every record is accounted for' : `accounting: UNBALANCED — pending ${esc(JSON.stringify(f.pending))}`}${f.retryable > 0 ? ` · ${esc(f.retryable)} endpoint failure(s) to retry` : ''}</p>

<h2>Rejections by stage and reason</h2>
${rejections.length === 0 ? '<p class="muted">no rejections</p>' : htmlTable(['stage', 'reason (check)', 'count'], rejections)}

<h2>Trajectory shape (${esc(num(s.count))} trajectories)</h2>
${shapeTable}
${paperTable}
<div class="grid">${histogram('messages')}${histogram('distinct_tools')}${histogram('tool_calls')}</div>

<h2>Domains and tasks</h2>
<div class="grid">${dist('trajectories by domain', s.domains)}${dist('trajectories by task category', s.tasks)}</div>
${Object.keys(s.patterns).length > 0 ? dist('interaction patterns (trajectories declaring each)', s.patterns) : ''}

<h2>Quality signals</h2>
${htmlTable(
  ['signal', 'trajectories', 'share'],
  [
    ['with any warning', s.warnings.with_any, `${(s.warnings.share * 100).toFixed(1)}%`],
    ['with provenance warnings', s.warnings.provenance, `${(s.warnings.provenance_share * 100).toFixed(1)}%`],
    ...(refine ? [['refine fell back to the original', s.refine_fallback.count, `${(s.refine_fallback.rate * 100).toFixed(1)}%`]] : []),
    ...Object.entries(s.warnings.by_check).map(([c, n]): Array<string | number> => [`warning: ${c}`, n, s.count === 0 ? '-' : `${((n / s.count) * 100).toFixed(1)}%`]),
  ],
)}
${a.judge.judged === 0 ? '<p class="muted">judge: no verdicts</p>' : `<p>judge: ${esc(a.judge.judged)} judged, ${esc(a.judge.passed)} passed (${esc((a.judge.pass_rate * 100).toFixed(1))}%)</p>${htmlTable(['rubric', 'pass', 'fail', 'pass rate'], judgeRows)}`}

<h2>Usage and cost</h2>
${a.usage === undefined ? '<p class="muted">no usage recorded in run.json</p>' : htmlTable(['stage', 'model', 'calls', 'cached', 'failed', 'retries', 'prompt tokens', 'completion tokens', 'cost', 'cache saved'], usageRows(a))}
${a.usage !== undefined && a.usage.unpriced_models.length > 0 ? `<p class="muted">no price for ${esc(a.usage.unpriced_models.join(', '))}: their cost is unknown and not in the figures</p>` : ''}

<h2>Sample trajectories</h2>
${samples.length === 0 ? '<p class="muted">no trajectories passed</p>' : samples.map((x) => renderTrajectory(x.trajectory, x.segment)).join('\n')}
</main></body></html>
`;
}

/** Sample trajectories a report shows when not told otherwise. */
export const DEFAULT_REPORT_SAMPLES = 3;

/** Analyses `dir` and writes `<dir>/report.html` atomically; returns its path. */
export async function writeReport(dir: string, options: { samples?: number; out?: string } = {}): Promise<{ path: string; analysis: RunAnalysis }> {
  const analysis = await analyzeRun(dir);
  const samples = await pickSamples(dir, analysis.stats.count, options.samples ?? DEFAULT_REPORT_SAMPLES);
  const html = renderReport(analysis, samples);
  const path = options.out ?? join(dir, REPORT_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
  return { path, analysis };
}
