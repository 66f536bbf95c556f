import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanJsonl, readLine, type LineLoc } from '../src/report/line-index.js';
import { SAMPLE_HOSTILE_TEXT, writeSampleRun } from '../src/report/sample-run.js';
import { startViewer, type ListEntry, type TrajectoryDetail, type Viewer } from '../src/report/viewer.js';
import { VIEWER_JS } from '../src/report/viewer-page.js';

let root: string;
let runDir: string;
let viewer: Viewer;

interface Page {
  total: number;
  offset: number;
  limit: number;
  items: ListEntry[];
}

async function get<T>(path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(new URL(path, viewer.url));
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gemtraj-view-'));
  runDir = join(root, 'run');
  writeSampleRun(runDir);
  viewer = await startViewer({ dir: runDir, port: 0 });
});
afterAll(async () => {
  await viewer.close();
  rmSync(root, { recursive: true, force: true });
});

describe('line index', () => {
  it('records exact byte offsets, multi-byte text and CRLF included', async () => {
    const file = join(root, 'lines.jsonl');
    const records = [{ id: 'é€😀' }, { id: 'b', text: 'x\ny' }, { id: 'c' }];
    writeFileSync(file, `${JSON.stringify(records[0])}\r\n\n${JSON.stringify(records[1])}\nnot json\n${JSON.stringify(records[2])}`);
    const seen: Array<[unknown, LineLoc]> = [];
    await scanJsonl(file, (v, loc) => seen.push([v, loc]));
    expect(seen.map(([v]) => v)).toEqual(records);
    for (const [value, loc] of seen) expect(await readLine(file, loc)).toEqual(value);
  });
});

describe('viewer', () => {
  it('binds to loopback on an ephemeral port and serves the page with a strict CSP', async () => {
    expect(viewer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(viewer.url);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<script src="/app.js"></script>');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const js = await (await fetch(new URL('/app.js', viewer.url))).text();
    // The page never turns data into markup.
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(js).toContain('textContent');
  });

  it('summarises the run', async () => {
    const { body } = await get<{ funnel: { passed: number; balanced: boolean }; listed: { passed: number; rejected: number }; usage: { calls: number } }>('/api/summary');
    expect(body.funnel).toMatchObject({ passed: 3, balanced: true });
    expect(body.listed).toEqual({ passed: 3, rejected: 3 });
    expect(body.usage.calls).toBe(12);
  });

  it('lists passed then rejected trajectories, with paging, status filter and search', async () => {
    const all = await get<Page>('/api/trajectories');
    expect(all.body.total).toBe(6);
    expect(all.body.items.map((i) => `${i.status}:${i.id}`)).toEqual([
      'passed:traj_a',
      'passed:traj_b',
      'passed:traj_c',
      'rejected:d3#0',
      'rejected:traj_d',
      'rejected:traj_e',
    ]);
    const page2 = await get<Page>('/api/trajectories?offset=2&limit=2');
    expect(page2.body).toMatchObject({ total: 6, offset: 2, limit: 2 });
    expect(page2.body.items.map((i) => i.id)).toEqual(['traj_c', 'd3#0']);
    const rejected = await get<Page>('/api/trajectories?status=rejected');
    expect(rejected.body.items.map((i) => [i.id, i.stage, i.checks])).toEqual([
      ['d3#0', 'extract', ['extract_no_workflow']],
      ['traj_d', 'generate', ['generate_empty']],
      ['traj_e', 'judge', ['judge_R1']],
    ]);
    // A rejected trajectory's entry is completed from its refined version.
    expect(rejected.body.items[2]).toMatchObject({ domain: 'travel', messages: 5 });
    const byDomain = await get<Page>('/api/trajectories?q=travel&status=passed');
    expect(byDomain.body.items.map((i) => i.id)).toEqual(['traj_c']);
    const byText = await get<Page>(`/api/trajectories?q=${encodeURIComponent('lyon 9:00')}`);
    expect(byText.body.items.map((i) => i.id)).toEqual(['traj_c']);
    const byCheck = await get<Page>('/api/trajectories?q=argument_provenance');
    expect(byCheck.body.items.map((i) => i.id)).toEqual(['traj_a']);
    const byId = await get<Page>('/api/trajectories?q=TRAJ_E');
    expect(byId.body.total).toBe(1);
  });

  it('returns one trajectory with its source segment text, workflow and meta', async () => {
    const { status, body } = await get<TrajectoryDetail>(`/api/trajectory/${encodeURIComponent('traj_a')}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'traj_a', status: 'passed', version: 'final' });
    const t = body.trajectory as { messages: Array<{ content: string }>; meta: { judge: Record<string, number> } };
    expect(t.messages[1]!.content).toBe(SAMPLE_HOSTILE_TEXT);
    expect(t.meta.judge).toEqual({ R1: 1, R2: 1, R3: 1 });
    expect(body.segment).toMatchObject({ id: 'd1#0', text: expect.stringContaining('Only delivered orders can be refunded.') });
    expect(body.workflow).toMatchObject({ name: 'refund', execution_graph: '(lookup_order)' });
    expect((body.before_refinement as { messages: unknown[] }).messages).toHaveLength(5);
  });

  it('returns a rejected trajectory with reasons and the version validation saw', async () => {
    const judged = await get<TrajectoryDetail>('/api/trajectory/traj_e');
    expect(judged.body).toMatchObject({ status: 'rejected', version: 'refined' });
    expect(judged.body.rejections).toEqual([expect.objectContaining({ stage: 'judge', reasons: [expect.objectContaining({ check: 'judge_R1' })] })]);
    expect(judged.body.segment).toMatchObject({ id: 'd2#0', text: expect.stringContaining('Book a train') });
    const generated = await get<TrajectoryDetail>('/api/trajectory/traj_d');
    expect(generated.body).toMatchObject({ status: 'rejected', trajectory: null, rejections: [expect.objectContaining({ raw: '{"turns": []}' })] });
    const extract = await get<TrajectoryDetail>(`/api/trajectory/${encodeURIComponent('d3#0')}`);
    expect(extract.body.segment).toMatchObject({ text: expect.stringContaining('thermostat') });
    const missing = await get<{ error: string }>('/api/trajectory/nope');
    expect(missing.status).toBe(404);
    expect((await get<{ error: string }>('/api/nothing')).status).toBe(404);
  });

  it('refuses other methods and foreign Host headers', async () => {
    expect((await fetch(new URL('/api/summary', viewer.url), { method: 'POST' })).status).toBe(405);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: viewer.port, path: '/api/summary', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('reads records from disk on demand rather than holding them', () => {
    // The index keeps offsets, not records: every location is a [offset, length] pair.
    expect([...viewer.index.final.values()].every((loc) => loc.length === 2 && typeof loc[0] === 'number')).toBe(true);
    const text = readFileSync(join(runDir, 'trajectories.jsonl'));
    const [offset, length] = viewer.index.final.get('traj_b')!;
    expect(JSON.parse(text.subarray(offset, offset + length).toString('utf8'))).toMatchObject({ id: 'traj_b' });
  });
});

/** Just enough DOM to run the page script: nodes with children, text, attributes and listeners. */
class FakeNode {
  children: Array<FakeNode | FakeText> = [];
  attrs: Record<string, string> = {};
  className = '';
  value = '';
  disabled = false;
  private text = '';
  listeners: Record<string, Array<() => void>> = {};
  constructor(readonly tag: string) {}
  appendChild<T extends FakeNode | FakeText>(c: T): T {
    this.children.push(c);
    return c;
  }
  replaceChildren(...c: Array<FakeNode | FakeText>): void {
    this.children = c;
  }
  setAttribute(k: string, v: string): void {
    this.attrs[k] = String(v);
  }
  getAttribute(k: string): string | undefined {
    return this.attrs[k];
  }
  addEventListener(e: string, f: () => void): void {
    (this.listeners[e] ??= []).push(f);
  }
  set textContent(t: string) {
    this.text = String(t);
    this.children = [];
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
}
class FakeText {
  constructor(readonly textContent: string) {}
}

describe('viewer page script', () => {
  it('lists, opens a trajectory and shows hostile text as text', async () => {
    const ids: Record<string, FakeNode> = {};
    for (const id of ['summary', 'q', 'status', 'count', 'list', 'prev', 'next', 'page', 'detail']) ids[id] = new FakeNode('div');
    ids.status!.value = 'all';
    const location = { hash: '' };
    let onHash: () => void = () => undefined;
    const env = {
      document: { createElement: (t: string) => new FakeNode(t), createTextNode: (t: string) => new FakeText(t), getElementById: (id: string) => ids[id], querySelectorAll: () => [] },
      location,
      window: { addEventListener: (_: string, f: () => void) => (onHash = f) },
      fetch: (u: string, o?: RequestInit) => fetch(new URL(u, viewer.url), o),
    };
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 50 && ids.count!.textContent === ''; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
    };
    new Function('document', 'location', 'window', 'fetch', VIEWER_JS)(env.document, env.location, env.window, env.fetch);
    await settle();
    expect(ids.count!.textContent).toBe('6 matches');
    expect(ids.list!.children).toHaveLength(6);
    expect(ids.summary!.textContent).toContain('passed 3');
    location.hash = '#traj_a';
    onHash();
    await settle();
    const detail = ids.detail!.textContent;
    expect(detail).toContain(SAMPLE_HOSTILE_TEXT);
    expect(detail).toContain('→ refund(');
    expect(detail).toContain('argument_provenance');
    expect(detail).toContain('Only delivered orders can be refunded.');
    // Every node the script made is an element it chose; model text only ever became text nodes.
    const tags = new Set<string>();
    const walk = (n: FakeNode | FakeText): void => {
      if (n instanceof FakeNode) {
        tags.add(n.tag);
        n.children.forEach(walk);
      }
    };
    walk(ids.detail!);
    // A malformed fragment is reported on the page, not thrown as a URIError.
    location.hash = '#%E0%A4%A';
    expect(() => onHash()).not.toThrow();
    expect(ids.detail!.textContent).toBe('not a trajectory link: #%E0%A4%A');
    location.hash = '#traj_a';
    onHash();
    await settle();
    expect([...tags].filter((t) => !['div', 'span', 'b', 'h2', 'ul', 'li', 'table', 'tr', 'th', 'td', 'details', 'summary', 'pre', 'p', 'ol'].includes(t))).toEqual([]);
  });
});

// A browser end-to-end check runs only where a browser and playwright-core are installed.
const chromium = '/usr/bin/chromium';
const hasPlaywright = await import('playwright-core' as string).then(() => true, () => false);
describe.skipIf(!existsSync(chromium) || !hasPlaywright)('viewer in a browser', () => {
  it('renders the list and a conversation without running injected markup', async () => {
    type Page = { goto(u: string): Promise<unknown>; waitForSelector(s: string): Promise<unknown>; click(s: string): Promise<void>; textContent(s: string): Promise<string | null>; evaluate<T>(f: string): Promise<T> };
    type Browser = { newPage(): Promise<Page>; close(): Promise<void> };
    const pw = (await import('playwright-core' as string)) as { chromium: { launch(o: { executablePath: string; args: string[] }): Promise<Browser> } };
    // Root in CI needs --no-sandbox; the closed network refuses Chromium's background calls.
    const browser = await pw.chromium.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(viewer.url);
      await page.waitForSelector('#list li');
      await page.click('#list li[data-id="traj_a"]');
      await page.waitForSelector('.msg.user');
      expect(await page.textContent('.msg.user')).toContain('<script>');
      // A string expression: the test build has no DOM types.
      expect(await page.evaluate<number>("document.querySelectorAll('#detail script, #detail img').length")).toBe(0);
    } finally {
      await browser.close();
    }
  });
});
