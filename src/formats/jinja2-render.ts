/**
 * Renders conversations through a chat template with Python Jinja2, the way transformers'
 * `apply_chat_template` does (ImmutableSandboxedEnvironment with trim_blocks and
 * lstrip_blocks, the loopcontrols extension, `tojson` = json.dumps with ensure_ascii=False,
 * `raise_exception`, `strftime_now`; `messages`, `tools`, `add_generation_prompt`). This is the
 * reference consumer: trainers (TRL, axolotl, ms-swift with template backend jinja, LLaMA-Factory's
 * OpenAI path) feed the dataset's values to exactly this renderer.
 *
 * The Python program is kept here as text and run with `python3 -c` (so it ships with the
 * package); the conversations go in on stdin as one JSON document, and the answers come back as
 * one JSON list. When python3 or jinja2 is missing, {@link jinja2Available} says why and callers
 * fall back to @huggingface/jinja.
 */
import { spawn, spawnSync } from 'node:child_process';

/** The renderer (mirrors transformers.utils.chat_template_utils._compile_jinja_template). */
export const JINJA2_RENDERER = String.raw`
import json, sys
from datetime import datetime
try:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError as e:
    print(json.dumps({"unavailable": str(e)}))
    sys.exit(0)

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(fmt):
    return datetime.now().strftime(fmt)

req = json.load(sys.stdin)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now
out = []
try:
    template = env.from_string(req["template"])
except Exception as e:
    print(json.dumps({"compile_error": type(e).__name__ + ": " + str(e)}))
    sys.exit(0)
for item in req["items"]:
    ctx = {"messages": item["messages"], "add_generation_prompt": False, "bos_token": "", "eos_token": ""}
    if item.get("tools") is not None:
        ctx["tools"] = item["tools"]
    try:
        out.append({"ok": True, "text": template.render(**ctx)})
    except Exception as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
sys.stdout.write(json.dumps({"results": out}, ensure_ascii=False))
`;

/** What one conversation handed to the template looks like (the record's own values). */
export interface RenderItem {
  messages: unknown;
  tools?: unknown;
}

export type RenderOutcome = { ok: true; text: string } | { ok: false; error: string };

let availability: { ok: true } | { ok: false; reason: string } | undefined;

function runPython(input: string): { stdout: string; error?: string } {
  const run = spawnSync('python3', ['-c', JINJA2_RENDERER], { input, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (run.error !== undefined) return { stdout: '', error: run.error.message };
  if (run.status !== 0) return { stdout: run.stdout, error: `python3 exited ${String(run.status)}: ${run.stderr.trim().split('\n').pop() ?? ''}` };
  return { stdout: run.stdout };
}

/** Whether python3 with jinja2 can be run here (checked once per process). */
export function jinja2Available(): { ok: true } | { ok: false; reason: string } {
  if (availability !== undefined) return availability;
  const probe = runPython(JSON.stringify({ template: '', items: [] }));
  if (probe.error !== undefined) availability = { ok: false, reason: probe.error };
  else {
    const answer = JSON.parse(probe.stdout) as { unavailable?: string };
    availability = answer.unavailable === undefined ? { ok: true } : { ok: false, reason: `jinja2 not importable: ${answer.unavailable}` };
  }
  return availability;
}

/**
 * Renders every item through `template` with Python Jinja2 in one python3 process (run
 * asynchronously: a large file takes seconds and the event loop stays free).
 * Rejects when python3/jinja2 is unavailable or the template does not compile.
 */
export async function renderWithJinja2(template: string, items: readonly RenderItem[]): Promise<RenderOutcome[]> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('python3', ['-c', JINJA2_RENDERER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`python3 jinja2 renderer: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`python3 jinja2 renderer exited ${String(code)}: ${Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? ''}`));
    });
    child.stdin.on('error', () => undefined); // a crash before reading stdin is reported by 'close'
    child.stdin.end(JSON.stringify({ template, items }));
  });
  const answer = JSON.parse(stdout) as { results?: RenderOutcome[]; unavailable?: string; compile_error?: string };
  if (answer.unavailable !== undefined) throw new Error(`python3 jinja2 renderer: jinja2 not importable: ${answer.unavailable}`);
  if (answer.compile_error !== undefined) throw new Error(`chat template does not compile: ${answer.compile_error}`);
  return answer.results ?? [];
}
