import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerReport } from '../src/cli/report.js';
import { binHistogram, esc, svgHistogram } from '../src/report/html-kit.js';
import { renderTrajectory, samplePositions, writeReport } from '../src/report/html.js';
import { SAMPLE_HOSTILE_TEXT, writeSampleRun } from '../src/report/sample-run.js';
import type { Trajectory } from '../src/records.js';

let root: string;
let runDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gemtraj-report-'));
  runDir = join(root, 'run');
  writeSampleRun(runDir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('html kit', () => {
  it('escapes markup and quotes', () => {
    expect(esc(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  });

  it('bins wide histograms and draws one rect per bin', () => {
    expect(binHistogram([[1, 2], [2, 1], [5, 4]])).toEqual([
      { lo: 1, hi: 1, count: 2 },
      { lo: 2, hi: 2, count: 1 },
      { lo: 3, hi: 3, count: 0 },
      { lo: 4, hi: 4, count: 0 },
      { lo: 5, hi: 5, count: 4 },
    ]);
    const wide = binHistogram(Array.from({ length: 100 }, (_, i): [number, number] => [i, 1]), 10);
    expect(wide).toHaveLength(10);
    expect(wide[0]).toEqual({ lo: 0, hi: 9, count: 10 });
    const svg = svgHistogram('t <b>', [[1, 2], [3, 1]]);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('t &lt;b&gt;');
  });

  it('spreads samples over the file', () => {
    expect(samplePositions(2, 3)).toEqual([0, 1]);
    expect(samplePositions(30, 3)).toEqual([5, 15, 25]);
  });
});

describe('report.html', () => {
  it('is self-contained, has the charts and tables, and escapes model output', async () => {
    const { path } = await writeReport(runDir);
    expect(path).toBe(join(runDir, 'report.html'));
    const html = readFileSync(path, 'utf8');
    // Self-contained: no script at all, no external fetch; a CSP forbids scripts anyway.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
    // Charts: three histograms, funnel, domain distribution.
    expect(html).toContain('aria-label="messages per trajectory"');
    expect(html).toContain('aria-label="distinct tools called per trajectory"');
    expect(html).toContain('aria-label="tool calls per trajectory"');
    expect(html).toContain('aria-label="records per step"');
    expect(html).toContain('aria-label="trajectories by domain"');
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(6);
    // Rejections by stage and reason, usage table.
    expect(html).toContain('<td>judge</td><td>judge_R1</td><td class="n">1</td>');
    expect(html).toContain('<td>extract</td><td>extract_no_workflow</td>');
    expect(html).toContain('<td>generate</td><td>teacher</td><td class="n">5</td>');
    expect(html).toContain('$0.0600');
    expect(html).toContain('paper mean 46.1');
    // The hostile user text is shown as text.
    expect(html).toContain(esc(SAMPLE_HOSTILE_TEXT));
    expect(html).not.toContain('<img src=x');
    // Three samples as chat bubbles, with tool calls, results and the source segment.
    expect((html.match(/class="sample"/g) ?? []).length).toBe(3);
    expect(html).toContain('class="msg user"');
    expect(html).toContain('class="call">→ lookup_order(');
    expect(html).toContain('class="msg tool"');
    expect(html).toContain('Only delivered orders can be refunded.');
  });

  it('escapes every field of a trajectory, tool names and arguments included', () => {
    const t: Trajectory = {
      id: '"><script>1</script>',
      source: { doc_id: 'd', segment_id: '<s>' },
      domain: '<b>dom</b>',
      tools: [{ type: 'function', function: { name: 'x<y', description: '</details><script>', parameters: { type: 'object', properties: { '<p>': { type: 'string' } } } } }],
      messages: [
        { role: 'system', content: '</summary><script>s</script>' },
        { role: 'user', content: '<script>u</script>' },
        { role: 'assistant', content: '<i>a</i>', tool_calls: [{ id: 'c<1>', type: 'function', function: { name: 'x<y', arguments: '{"q":"<script>"}' } }] },
        { role: 'tool', tool_call_id: 'c<1>', name: 'x<y', content: '<script>t</script>' },
      ],
      meta: { warnings: [{ check: '<w>', message: '<script>w</script>' }], judge: { '<R1>': 1 } },
    };
    const html = renderTrajectory(t, { id: '<s>', text: '<script>src</script>', heading: undefined });
    expect(html).not.toMatch(/<script/i);
    for (const raw of ['<b>dom</b>', '<i>a</i>', '<p>', '<s>', '<w>', '<R1>', 'x<y', 'c<1>', '</details><script>']) expect(html).not.toContain(raw);
    expect(html).toContain('&lt;script&gt;u&lt;/script&gt;');
  });

  it('gemtraj report writes the file and prints its path', async () => {
    const program = new Command().exitOverride();
    registerReport(program);
    const out = join(root, 'custom.html');
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['report', runDir, '--out', out, '--samples', '1'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    expect(chunks.join('')).toBe(`${out}\n`);
    expect((readFileSync(out, 'utf8').match(/class="sample"/g) ?? []).length).toBe(1);
  });
});
