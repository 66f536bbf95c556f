/**
 * `gemtraj view <dir>`: a local HTTP server (node:http) with a one-page viewer and a small
 * JSON API over a run directory. At start, one streaming pass per file builds an index of
 * byte offsets plus a short list entry per trajectory (id, domain, checks, a snippet), so a
 * run with 100k trajectories is served without holding them in memory; each record is read
 * back with one positioned read when asked for.
 *
 * Safety: binds 127.0.0.1 by default, answers only GET/HEAD, checks the Host header on
 * loopback (against DNS rebinding), sends a CSP that allows only its own script, and the page
 * renders every value with textContent: the records are model output, never markup.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RUN_FILES } from '../pipeline/run-dir.js';
import { readLine, scanJsonl, type LineLoc } from './line-index.js';
import { analyzeRun, isDirectory, notRunDirectory, ReportError, type RunAnalysis } from './run-analysis.js';
import { VIEWER_CSS, VIEWER_HTML, VIEWER_JS } from './viewer-page.js';

/** Rejection stages that concern a trajectory (or the extraction it would have come from). */
export const TRAJECTORY_STAGES: ReadonlySet<string> = new Set(['extract', 'generate', 'synthesize', 'refine', 'validate', 'judge']);

export type ListStatus = 'passed' | 'rejected';

/** One row of the list: what the list shows and what search looks at. */
export interface ListEntry {
  id: string;
  status: ListStatus;
  /** Rejection stage (rejected only). */
  stage: string | undefined;
  domain: string | undefined;
  doc_id: string | undefined;
  segment_id: string | undefined;
  /** Check ids of the rejection reasons (rejected) or of the warnings (passed). */
  checks: string[];
  /** Start of the first user message (or of the first rejection message). */
  snippet: string;
  messages: number | undefined;
  tools: number | undefined;
}

const SNIPPET = 160;

interface IndexedRecord {
  loc: LineLoc;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function firstUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (const m of messages) {
    const o = obj(m);
    if (o?.role === 'user' && typeof o.content === 'string') return o.content.slice(0, SNIPPET);
  }
  return '';
}

function checksOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return [...new Set(list.map((r) => str(obj(r)?.check)).filter((c): c is string => c !== undefined))];
}

/** The viewer's in-memory index of a run directory. */
export class RunIndex {
  readonly entries: ListEntry[] = [];
  /** Lower-cased search text per entry, aligned with `entries`. */
  private readonly haystack: string[] = [];
  readonly final = new Map<string, LineLoc>();
  readonly refined = new Map<string, LineLoc>();
  readonly raw = new Map<string, LineLoc>();
  readonly rejections = new Map<string, LineLoc[]>();
  readonly segments = new Map<string, LineLoc>();
  readonly extractions = new Map<string, LineLoc>();
  readonly files: Record<'final' | 'refined' | 'raw' | 'rejected' | 'segments' | 'extractions', string>;

  private constructor(readonly dir: string) {
    this.files = {
      final: join(dir, RUN_FILES.final),
      refined: join(dir, RUN_FILES.refined),
      raw: join(dir, RUN_FILES.raw),
      rejected: join(dir, RUN_FILES.rejected),
      segments: join(dir, RUN_FILES.segments),
      extractions: join(dir, RUN_FILES.extractions),
    };
  }

  static async build(dir: string): Promise<RunIndex> {
    if (!isDirectory(dir)) throw notRunDirectory(dir);
    const index = new RunIndex(dir);
    await index.scan();
    return index;
  }

  private add(entry: ListEntry): void {
    this.entries.push(entry);
    this.haystack.push([entry.id, entry.domain, entry.doc_id, entry.segment_id, entry.stage, ...entry.checks, entry.snippet].filter(Boolean).join('\n').toLowerCase());
  }

  private async scan(): Promise<void> {
    const f = this.files;
    // Rejections first: their list entries are completed from the raw/refined trajectories below.
    const rejectedEntries = new Map<string, ListEntry>();
    await scanJsonl(f.rejected, (value, loc) => {
      const r = obj(value);
      const id = str(r?.id);
      const stage = str(r?.stage);
      if (r === undefined || id === undefined || stage === undefined) return;
      const locs = this.rejections.get(id) ?? [];
      locs.push(loc);
      this.rejections.set(id, locs);
      if (!TRAJECTORY_STAGES.has(stage)) return;
      const existing = rejectedEntries.get(id);
      if (existing !== undefined) {
        existing.checks = [...new Set([...existing.checks, ...checksOf(r.reasons)])];
        return;
      }
      const source = obj(r.source);
      const firstReason = Array.isArray(r.reasons) ? str(obj(r.reasons[0])?.message) ?? '' : '';
      rejectedEntries.set(id, {
        id,
        status: 'rejected',
        stage,
        domain: undefined,
        doc_id: str(source?.doc_id),
        segment_id: str(source?.segment_id),
        checks: checksOf(r.reasons),
        snippet: firstReason.slice(0, SNIPPET),
        messages: undefined,
        tools: undefined,
      });
    });
    await scanJsonl(f.final, (value, loc) => {
      const t = obj(value);
      const id = str(t?.id);
      if (t === undefined || id === undefined || this.final.has(id)) return;
      this.final.set(id, loc);
      const source = obj(t.source);
      this.add({
        id,
        status: 'passed',
        stage: undefined,
        domain: str(t.domain),
        doc_id: str(source?.doc_id),
        segment_id: str(source?.segment_id),
        checks: checksOf(obj(t.meta)?.warnings),
        snippet: firstUserText(t.messages),
        messages: Array.isArray(t.messages) ? t.messages.length : undefined,
        tools: Array.isArray(t.tools) ? t.tools.length : undefined,
      });
    });
    const complete = (map: Map<string, LineLoc>) => (value: unknown, loc: LineLoc): void => {
      const t = obj(value);
      const id = str(t?.id);
      if (t === undefined || id === undefined) return;
      map.set(id, loc);
      const entry = rejectedEntries.get(id);
      // The refined version (read after raw) wins: it is the one validation saw.
      if (entry !== undefined) {
        entry.domain = str(t.domain) ?? entry.domain;
        entry.messages = Array.isArray(t.messages) ? t.messages.length : entry.messages;
        entry.tools = Array.isArray(t.tools) ? t.tools.length : entry.tools;
        const user = firstUserText(t.messages);
        if (user !== '' && entry.snippet === '') entry.snippet = user;
      }
    };
    await scanJsonl(f.raw, complete(this.raw));
    await scanJsonl(f.refined, complete(this.refined));
    await scanJsonl(f.segments, (value, loc) => {
      const id = str(obj(value)?.id);
      if (id !== undefined) this.segments.set(id, loc);
    });
    await scanJsonl(f.extractions, (value, loc) => {
      const id = str(obj(value)?.id);
      if (id !== undefined) this.extractions.set(id, loc);
    });
    // A trajectory that passed after an earlier rejection is listed once, as passed.
    for (const entry of rejectedEntries.values()) if (!this.final.has(entry.id)) this.add(entry);
  }

  /** Entries matching `q` (all words, case-insensitive, over id/domain/ids/checks/snippet) and `status`. */
  list(options: { q?: string | undefined; status?: ListStatus | 'all' | undefined; offset?: number; limit?: number }): { total: number; items: ListEntry[] } {
    const words = (options.q ?? '').toLowerCase().split(/\s+/).filter((w) => w !== '');
    const status = options.status ?? 'all';
    const offset = Math.max(0, options.offset ?? 0);
    const limit = Math.min(500, Math.max(1, options.limit ?? 50));
    const items: ListEntry[] = [];
    let total = 0;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (status !== 'all' && e.status !== status) continue;
      if (words.length > 0) {
        const hay = this.haystack[i]!;
        if (!words.every((w) => hay.includes(w))) continue;
      }
      if (total >= offset && items.length < limit) items.push(e);
      total++;
    }
    return { total, items };
  }

  /** Everything known about one id, each record read from disk at its offset. */
  async detail(id: string): Promise<TrajectoryDetail | undefined> {
    const finalLoc = this.final.get(id);
    const refinedLoc = this.refined.get(id);
    const rawLoc = this.raw.get(id);
    const rejLocs = this.rejections.get(id) ?? [];
    if (finalLoc === undefined && refinedLoc === undefined && rawLoc === undefined && rejLocs.length === 0) return undefined;
    const read = async (file: string, loc: LineLoc | undefined): Promise<Record<string, unknown> | undefined> =>
      loc === undefined ? undefined : obj(await readLine(file, loc));
    const final = await read(this.files.final, finalLoc);
    const refined = await read(this.files.refined, refinedLoc);
    const raw = await read(this.files.raw, rawLoc);
    const rejections: Array<Record<string, unknown>> = [];
    for (const loc of rejLocs) {
      const r = await read(this.files.rejected, loc);
      if (r !== undefined) rejections.push(r);
    }
    const trajectory = final ?? refined ?? raw;
    const source = obj(trajectory?.source) ?? obj(rejections[0]?.source);
    // An extract rejection is keyed by the segment id itself.
    const segmentId = str(source?.segment_id) ?? (rejections.some((r) => r.stage === 'extract') ? id : undefined);
    const segment = segmentId === undefined ? undefined : await read(this.files.segments, this.segments.get(segmentId));
    const extraction = segmentId === undefined ? undefined : await read(this.files.extractions, this.extractions.get(segmentId));
    const k = source?.workflow_index;
    const workflows = extraction?.workflows;
    const workflow = typeof k === 'number' && Array.isArray(workflows) ? obj(workflows[k]) : undefined;
    return {
      id,
      status: final !== undefined ? 'passed' : 'rejected',
      version: final !== undefined ? 'final' : refined !== undefined ? 'refined' : raw !== undefined ? 'raw' : undefined,
      trajectory: trajectory ?? null,
      // The unrefined version, when the shown one was rewritten by refinement.
      before_refinement: raw !== undefined && trajectory !== raw && JSON.stringify(raw.messages) !== JSON.stringify(trajectory?.messages) ? raw : null,
      rejections,
      segment: segment ?? null,
      workflow: workflow === undefined ? null : { ...workflow, extraction_rules: extraction?.rules, extraction_domain: extraction?.domain },
    };
  }
}

export interface TrajectoryDetail {
  id: string;
  status: ListStatus;
  /** Which file the trajectory shown comes from. */
  version: 'final' | 'refined' | 'raw' | undefined;
  trajectory: Record<string, unknown> | null;
  before_refinement: Record<string, unknown> | null;
  rejections: Array<Record<string, unknown>>;
  segment: Record<string, unknown> | null;
  workflow: Record<string, unknown> | null;
}

export interface ViewerOptions {
  dir: string;
  /** 0 = any free port. */
  port?: number | undefined;
  /** @default 127.0.0.1 */
  host?: string | undefined;
}

export interface Viewer {
  url: string;
  port: number;
  server: Server;
  index: RunIndex;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, head = false): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), head);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  if (!LOOPBACK.has(boundHost)) return true; // the user chose to expose it
  const host = req.headers.host;
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] ?? '';
  return LOOPBACK.has(name.toLowerCase());
}

function intParam(value: string | null, fallback: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** The summary the page shows on top: funnel, usage, shape (computed once, on first request). */
function summaryOf(a: RunAnalysis, index: RunIndex): Record<string, unknown> {
  return {
    dir: a.dir,
    command: a.command,
    status: a.runJson?.status,
    input: a.runJson?.input,
    funnel: a.funnel,
    usage: a.usage?.totals ?? null,
    duration_s: a.duration_s ?? null,
    shape: a.stats.count === 0 ? null : a.stats.shape,
    domains: a.stats.domains,
    judge: a.judge,
    listed: {
      passed: index.entries.filter((e) => e.status === 'passed').length,
      rejected: index.entries.filter((e) => e.status === 'rejected').length,
    },
  };
}

/** Builds the index and starts the server; resolves once it listens. */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const host = options.host ?? '127.0.0.1';
  const index = await RunIndex.build(options.dir);
  let summary: Promise<Record<string, unknown>> | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    if (!hostAllowed(req, host)) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden host');
    const url = new URL(req.url ?? '/', 'http://viewer.invalid');
    const path = url.pathname;
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', VIEWER_HTML, head);
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', VIEWER_JS, head);
    if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', VIEWER_CSS, head);
    if (path === '/api/summary') {
      summary ??= analyzeRun(options.dir).then((a) => summaryOf(a, index));
      return sendJson(res, 200, await summary, head);
    }
    if (path === '/api/trajectories') {
      const statusParam = url.searchParams.get('status');
      const status = statusParam === 'passed' || statusParam === 'rejected' ? statusParam : 'all';
      const offset = intParam(url.searchParams.get('offset'), 0);
      const limit = intParam(url.searchParams.get('limit'), 50);
      const page = index.list({ q: url.searchParams.get('q') ?? undefined, status, offset, limit });
      return sendJson(res, 200, { ...page, offset, limit: Math.min(500, Math.max(1, limit)) }, head);
    }
    if (path.startsWith('/api/trajectory/')) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/api/trajectory/'.length));
      } catch {
        return sendJson(res, 400, { error: 'bad id encoding' }, head);
      }
      const detail = await index.detail(id);
      if (detail === undefined) return sendJson(res, 404, { error: `no trajectory or rejection with id ${id}` }, head);
      return sendJson(res, 200, detail, head);
    }
    return sendJson(res, 404, { error: 'not found' }, head);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new ReportError(`port ${options.port ?? 0} on ${host} is in use: pass --port <another> (or --port 0 for any free port)`)
          : error,
      );
    });
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    server,
    index,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
