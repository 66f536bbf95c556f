import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerExport, runExport } from '../src/cli/export.js';
import { readParquetRecords } from '../src/formats/parquet.js';
import { DATA, richTrajectory, simpleTrajectory } from './formats-fixture.js';

function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gemtraj-export-'));
  const rich = richTrajectory();
  const simple = { ...simpleTrajectory(), source: { doc_id: 'doc2', segment_id: 'doc2#0' } };
  const orphan = { ...simpleTrajectory(), id: 'traj_orphan', source: { doc_id: 'doc3', segment_id: 'doc3#4' } };
  writeFileSync(join(dir, 'trajectories.jsonl'), [rich, simple, '{"broken"', orphan].map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n') + '\n');
  writeFileSync(
    join(dir, 'segments.jsonl'),
    [
      { id: 'doc1#0', doc_id: 'doc1', index: 0, text: 'Refund policy text.', start: 0, end: 19, score: 0.9, keep: true, by: 'heuristic' },
      { id: 'doc2#0', doc_id: 'doc2', index: 0, text: 'Order tracking text.', start: 0, end: 20, score: 0.9, keep: true, by: 'heuristic' },
    ].map((x) => JSON.stringify(x)).join('\n') + '\n',
  );
  return dir;
}
const quiet = { log: () => undefined, warn: () => undefined };

describe('gemtraj export', () => {
  it('openai: exports, reports the bad line, and the template check reports what the file really renders to', async () => {
    const dir = runDir();
    const s = await runExport({ input: join(dir, 'trajectories.jsonl'), format: 'openai', out: join(dir, 'out', 'openai.jsonl'), checkTemplate: `${DATA}/chat-templates/vllm-tool_chat_template_llama3.1_json.jinja`, ...quiet });
    // String arguments through Llama 3.1's `tojson` come out double-encoded; the parallel calls raise.
    expect(s).toMatchObject({ read: 4, imported: 3, exported: 3, importFailed: 1, exportFailed: 0, template: { ok: 0, failed: 2, render_error: 1 } });
    expect(s.problems[0]).toEqual({ line: 3, stage: 'import', message: expect.stringContaining('invalid JSON') });
    expect(s.problems.filter((p) => p.stage === 'template').map((p) => p.line).sort()).toEqual([1, 2, 4]);
    const t = await runExport({ input: join(dir, 'trajectories.jsonl'), target: 'llama3.1', out: join(dir, 'out', 'llama.jsonl'), checkTemplate: `${DATA}/chat-templates/vllm-tool_chat_template_llama3.1_json.jinja`, ...quiet });
    expect(t.template).toMatchObject({ ok: 3, failed: 0, render_error: 0 });
    const lines = readFileSync(join(dir, 'out', 'openai.jsonl'), 'utf8').trim().split('\n');
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(['messages', 'tools']);
  });
  it('sharegpt: writes dataset_info.json next to the output and counts losses', async () => {
    const dir = runDir();
    const s = await runExport({ input: join(dir, 'trajectories.jsonl'), format: 'sharegpt', out: join(dir, 'lf', 'gem.jsonl'), ...quiet });
    expect(s).toMatchObject({ exported: 3, lossyRecords: 1, lossNotes: 1 });
    const info = JSON.parse(readFileSync(join(dir, 'lf', 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string }>;
    expect(info.gem?.file_name).toBe('gem.jsonl');
  });
  it('llamafactory --parquet: conversations as a nested list<struct> column that dataset_info.json points at', async () => {
    const dir = runDir();
    const out = join(dir, 'lf', 'gem.parquet');
    const s = await runExport({ input: join(dir, 'trajectories.jsonl'), target: 'llamafactory', out, parquet: true, ...quiet });
    expect(s.exported).toBe(3);
    const info = JSON.parse(readFileSync(join(dir, 'lf', 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string; columns: { messages: string } }>;
    expect(info.gem).toMatchObject({ file_name: 'gem.parquet', columns: { messages: 'conversations' } });
    // Not a JSON string: a list of {from, value} (no gemtraj.json_columns entry for it).
    const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
    const file = await asyncBufferFromFile(out);
    const meta = await parquetMetadataAsync(file);
    expect(meta.schema.map((e) => e.name)).toEqual(['root', 'id', 'conversations', 'list', 'element', 'from', 'value', 'system', 'tools']);
    const rows = (await parquetReadObjects({ file })) as Array<{ conversations: Array<{ from: string; value: string }> }>;
    expect(Array.isArray(rows[0]?.conversations)).toBe(true);
    expect(rows[0]?.conversations[0]).toEqual({ from: 'human', value: 'Where are orders A17 and B2?' });
    expect(rows[0]?.conversations.some((c) => c.from === 'function_call' && c.value.startsWith('Let me refund that.\n<tool_call>'))).toBe(true);
    // The check reads the Parquet back as LLaMA-Factory reads it and renders it through Qwen3.
    const checked = await runExport({ input: join(dir, 'trajectories.jsonl'), target: 'llamafactory', out, parquet: true, checkTemplate: `${DATA}/chat-templates/trl/qwen3.jinja`, ...quiet });
    expect(checked.template).toMatchObject({ ok: 3, failed: 0, render_error: 0, not_checkable: 0 });
  });
  it('ms-swift-openai: the check reads the file the way ms-swift ≥ 4.5 does (tool_calls → tool_call turns) and says so', async () => {
    const dir = runDir();
    const logs: string[] = [];
    const s = await runExport({ input: join(dir, 'trajectories.jsonl'), target: 'ms-swift-openai', out: join(dir, 'swift.jsonl'), checkTemplate: `${DATA}/chat-templates/trl/qwen3.jinja`, log: (m: string) => logs.push(m), warn: () => undefined });
    expect(s.template).toMatchObject({ ok: 3, failed: 0, render_error: 0, not_checkable: 0 });
    expect(logs.join('\n')).toContain('records read as ms-swift reads them');
    const first = JSON.parse(readFileSync(join(dir, 'swift.jsonl'), 'utf8').split('\n')[0]!) as { tools: unknown; messages: Array<{ tool_calls?: unknown[] }> };
    expect(typeof first.tools).toBe('string');
    expect(first.messages.some((m) => (m.tool_calls?.length ?? 0) === 2)).toBe(true);
  });
  it('sft-pairs: joins source texts from segments.jsonl next to the input; reports unknown ones', async () => {
    const dir = runDir();
    const s = await runExport({ input: join(dir, 'trajectories.jsonl'), format: 'sft-pairs', out: join(dir, 'pairs.parquet'), parquet: true, ...quiet });
    expect(s).toMatchObject({ exported: 2, exportFailed: 1 });
    expect(s.problems[1]).toEqual({ line: 4, stage: 'export', message: expect.stringContaining('source text unknown for segment doc3#4') });
    const rows = await readParquetRecords(join(dir, 'pairs.parquet'));
    expect(rows.map((r) => r.id)).toEqual(['traj_rich', 'traj_simple']);
    expect((rows[0]!.messages as Array<{ content: string }>)[0]!.content).toContain('Refund policy text.');
  });
  it('is registered on the program and validates flags', async () => {
    const dir = runDir();
    const program = new Command().exitOverride();
    registerExport(program);
    const out = join(dir, 'h.jsonl');
    await program.parseAsync(['node', 'gemtraj', 'export', join(dir, 'trajectories.jsonl'), '--format', 'hermes', '--out', out, '--hermes-tool-role', 'user'], { from: 'node' });
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('"role":"user","content":"<tool_response>');
    await expect(program.parseAsync(['node', 'gemtraj', 'export', 'x.jsonl', '--format', 'csv', '--out', out], { from: 'node' })).rejects.toThrow();
  });
});
