/**
 * Stage 2: workflow and tool extraction for one kept segment.
 *
 * The model answers in the typed-parameter shape of prompts/extract.ts; this module converts
 * it to OpenAI tools and applies the post-checks the issue and the paper ask for: valid and
 * unique names, parameters that compile as JSON Schema, steps that name defined tools,
 * dependencies that point backwards, enough tools and steps. Fixable slips (a duplicate tool,
 * a forward dependency) become warnings; an unusable answer becomes a rejection with reasons.
 */
import type { Extraction, Reason, Segment, Workflow } from '../records.js';
import type { LlmClient } from '../llm/types.js';
import {
  buildExtractMessages,
  EXTRACT_PROMPT_VERSION,
  EXTRACT_SCHEMA_NAME,
  extractAnswerSchema,
  type ExtractionAnswer,
} from '../prompts/extract.js';
import type { AnyToolSpec } from '../prompts/tool-spec.js';
import { checkToolSpecs, specToTool } from './tool-spec.js';
import { compileToolSchemas } from './schema-check.js';
import { structuredFailure, type StageOutcome } from './types.js';
import { promptVersion, usesFieldGuide, type PromptSet } from '../prompts/versions.js';

/** Sampling temperature of extraction: it is analysis, not creative writing. */
export const EXTRACT_TEMPERATURE = 0.2;

export interface ExtractOptions {
  /** Fewest distinct tools an extraction must define. Minimum 1 (config `extract.min_tools`). */
  minTools: number;
  /** Fewest steps a workflow must have to be kept. Minimum 1 (config `extract.min_steps`). */
  minSteps: number;
  /** Most workflows kept per segment (each becomes one trajectory). Minimum 1 (config `extract.max_workflows`). */
  maxWorkflows: number;
  /** @default {@link EXTRACT_TEMPERATURE} */
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  /** Prompt set (config `prompts`): v1 sends the answer format as gemtraj 0.2 did. @default 'v2' */
  promptSet?: PromptSet | undefined;
  /** Aborts the call (the engine's stop: Ctrl-C, then its grace period). */
  signal?: AbortSignal | undefined;
}

export async function extractSegment(segment: Segment, options: ExtractOptions, llm: LlmClient): Promise<StageOutcome<Extraction>> {
  const result = await llm.structured({
    stage: 'extract',
    schema: extractAnswerSchema(options.promptSet),
    schemaName: EXTRACT_SCHEMA_NAME,
    messages: buildExtractMessages({
      text: segment.text,
      heading: segment.heading,
      summary: segment.labels?.summary,
      maxWorkflows: options.maxWorkflows,
      promptSet: options.promptSet,
    }),
    temperature: options.temperature ?? EXTRACT_TEMPERATURE,
    max_tokens: options.maxTokens,
    fieldGuide: usesFieldGuide(options.promptSet),
    signal: options.signal,
  });
  if (!result.ok) {
    return { ok: false, reasons: [structuredFailure('extract', result.error, result.raw, options.maxTokens)], raw: result.raw, usage: result.usage };
  }
  const checked = checkExtraction(result.value, options);
  if (!checked.ok) return { ...checked, usage: result.usage };
  const extraction: Extraction = {
    id: segment.id,
    source: { doc_id: segment.doc_id, segment_id: segment.id },
    domain: result.value.domain,
    platform: result.value.platform,
    task_category: result.value.task_category,
    rules: result.value.rules.filter((r) => r.trim() !== ''),
    workflows: checked.value.workflows,
    tools: checked.value.tools,
    meta: { model: result.model, prompt_version: promptVersion('extract', options.promptSet), usage: result.usage },
  };
  return { ok: true, value: extraction, warnings: checked.warnings };
}

/** `(a)->(b)->(c)`; parallel branches (steps sharing dependencies) are written `(a|b)`. */
export function executionGraph(steps: Workflow['steps']): string {
  const levels: number[] = [];
  steps.forEach((step, i) => {
    levels[i] = step.depends_on.length === 0 ? 0 : Math.max(...step.depends_on.map((d) => (levels[d] ?? 0) + 1));
  });
  const byLevel = new Map<number, string[]>();
  steps.forEach((step, i) => {
    const level = levels[i] ?? 0;
    const names = byLevel.get(level) ?? [];
    if (!names.includes(step.tool)) names.push(step.tool);
    byLevel.set(level, names);
  });
  // Steps without declared dependencies are taken in text order, as the model listed them.
  if (steps.every((s) => s.depends_on.length === 0)) return steps.map((s) => `(${s.tool})`).join('->');
  return [...byLevel.keys()]
    .sort((a, b) => a - b)
    .map((level) => `(${(byLevel.get(level) ?? []).join('|')})`)
    .join('->');
}

const ID_PARAM_RE = /(?:^|_)ids?$/;

/** Whether a tool's description says it returns `param` (`order_id`, "order id", "order ID"). */
function mentions(spec: AnyToolSpec, param: string): boolean {
  const text = spec.description.toLowerCase().replace(/[_-]+/g, ' ');
  const words = param.toLowerCase().replace(/_/g, ' ');
  return new RegExp(`\\b${words.replace(/ids?$/, 'ids?')}\\b`).test(text);
}

/**
 * Steps that need an id only a later step returns: a required `*_id` parameter of step i's
 * tool that no earlier step's tool returns while a later one does (a tool "returns" an id
 * when its description names it and it does not take it as input). The text's order is
 * then wrong, or a lookup step is missing: a conversation written from it would call with
 * an id nobody has yet. An id no step returns is the user's to give, and not reported.
 */
export function lateIdWarnings(name: string, steps: Workflow['steps'], specs: ReadonlyMap<string, AnyToolSpec>, path = 'workflow'): Reason[] {
  const warnings: Reason[] = [];
  const returns = (j: number, param: string): boolean => {
    const spec = specs.get(steps[j]?.tool ?? '');
    return spec !== undefined && !spec.parameters.some((p) => p.name === param) && mentions(spec, param);
  };
  steps.forEach((step, i) => {
    const spec = specs.get(step.tool);
    for (const param of spec?.parameters ?? []) {
      if (!param.required || !ID_PARAM_RE.test(param.name)) continue;
      const earlier = steps.slice(0, i).some((_, j) => returns(j, param.name));
      if (earlier) continue;
      const later = steps.map((_, j) => j).filter((j) => j > i && returns(j, param.name));
      if (later.length === 0) continue;
      warnings.push({
        check: 'workflow_step_order',
        path: `${path}.steps[${i}]`,
        message: `workflow "${name}": step ${i} (${step.tool}) needs ${param.name}, which only later step${later.length > 1 ? 's' : ''} ${later.map((j) => `${j} (${steps[j]?.tool})`).join(', ')} return${later.length > 1 ? '' : 's'}`,
      });
    }
  });
  return warnings;
}

/** Post-checks on a parsed answer; pure, exported for tests. */
export function checkExtraction(
  answer: ExtractionAnswer,
  options: Pick<ExtractOptions, 'minTools' | 'minSteps' | 'maxWorkflows'>,
): StageOutcome<{ tools: Extraction['tools']; workflows: Workflow[] }> {
  if (!answer.procedural && answer.workflows.length === 0) {
    return { ok: false, reasons: [{ check: 'extract_not_procedural', message: 'the model found no multi-step operation with a system in this text' }] };
  }
  const warnings: Reason[] = [];
  // Duplicates: keep the first definition, so steps that name it still resolve.
  const specs: AnyToolSpec[] = [];
  const seen = new Set<string>();
  answer.tools.forEach((spec, i) => {
    if (seen.has(spec.name)) {
      warnings.push({ check: 'duplicate_tool', path: `tools[${i}]`, message: `second definition of "${spec.name}" dropped` });
      return;
    }
    seen.add(spec.name);
    specs.push(spec);
  });
  const errors = checkToolSpecs(specs);
  if (errors.length > 0) return { ok: false, reasons: errors };
  const tools = specs.map(specToTool);
  const specByName = new Map(specs.map((spec) => [spec.name, spec]));
  const schemaErrors = compileToolSchemas(tools);
  if (schemaErrors.length > 0) return { ok: false, reasons: schemaErrors };

  const workflows: Workflow[] = [];
  answer.workflows.forEach((wf, w) => {
    const path = `workflows[${w}]`;
    const unknown = wf.steps.filter((s) => !seen.has(s.tool)).map((s) => s.tool);
    if (unknown.length > 0) {
      warnings.push({ check: 'workflow_unknown_tool', path, message: `workflow "${wf.name}" dropped: steps name undefined tools ${[...new Set(unknown)].join(', ')}` });
      return;
    }
    if (wf.steps.length < options.minSteps) {
      warnings.push({ check: 'workflow_too_short', path, message: `workflow "${wf.name}" dropped: ${wf.steps.length} step(s), fewer than ${options.minSteps}` });
      return;
    }
    const steps = wf.steps.map((s, i) => {
      const deps = [...new Set(s.depends_on)].filter((d) => d >= 0 && d < i);
      if (deps.length !== s.depends_on.length) {
        warnings.push({ check: 'workflow_dependency', path: `${path}.steps[${i}]`, message: `dependencies ${JSON.stringify(s.depends_on)} must point to earlier steps; kept ${JSON.stringify(deps)}` });
      }
      return { action: s.action, tool: s.tool, depends_on: deps, condition: s.condition };
    });
    warnings.push(...lateIdWarnings(wf.name, steps, specByName, path));
    workflows.push({
      name: wf.name,
      description: wf.description,
      intents: wf.intents,
      steps,
      execution_graph: executionGraph(steps),
      rules: wf.rules.filter((r) => r.trim() !== ''),
    });
  });
  if (workflows.length === 0) {
    const why = warnings.filter((r) => r.check.startsWith('workflow_'));
    return {
      ok: false,
      reasons: why.length > 0 ? why : [{ check: 'extract_no_workflow', message: 'the answer held no workflow' }],
    };
  }
  const usedTools = new Set(workflows.flatMap((wf) => wf.steps.map((s) => s.tool)));
  if (tools.length < options.minTools || usedTools.size < Math.min(options.minTools, 2)) {
    return {
      ok: false,
      reasons: [{ check: 'extract_too_few_tools', message: `${tools.length} tool(s) defined, ${usedTools.size} used by workflows; at least ${options.minTools} needed` }],
    };
  }
  if (workflows.length > options.maxWorkflows) {
    warnings.push({ check: 'workflow_limit', message: `${workflows.length - options.maxWorkflows} workflow(s) beyond the limit of ${options.maxWorkflows} dropped` });
  }
  return { ok: true, value: { tools, workflows: workflows.slice(0, options.maxWorkflows) }, warnings };
}

export { EXTRACT_PROMPT_VERSION };
