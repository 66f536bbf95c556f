/**
 * Step `workflows`: an extraction → one task per workflow (pure; recomputed on resume). Each
 * task's key is the id of the trajectory it becomes.
 */
import { trajectoryId, type Extraction } from '../../records.js';
import type { Step } from '../step.js';

/** One workflow of an extraction, as the generate step takes it. */
export interface WorkflowTask {
  /** Id of the trajectory this workflow becomes. */
  id: string;
  extraction: Extraction;
  /** 0-based index into `extraction.workflows`. */
  workflowIndex: number;
}

/** Workflows per extraction that reach generation, for the estimate (capped by max_workflows). */
const WORKFLOWS_PER_EXTRACTION = 1.5;

export function workflowsStep(maxWorkflows: number): Step<Extraction, WorkflowTask> {
  const expand = (extraction: Extraction): WorkflowTask[] => {
    // Optional chaining: the funnel counts run-directory lines, which are not re-validated.
    const segmentId = extraction.source?.segment_id ?? extraction.id;
    return (extraction.workflows ?? []).map((_, k) => ({ id: trajectoryId(segmentId, k), extraction, workflowIndex: k }));
  };
  return {
    name: 'workflows',
    input: 'extraction',
    output: 'workflow',
    keyOf: (extraction) => extraction.id,
    sourceOf: (extraction) => extraction.source,
    expand,
    run: (extraction) => ({ kind: 'out', records: expand(extraction) }),
    estimate: () => ({ calls: 0, prompt_tokens: 0, completion_tokens: 0, out: Math.min(WORKFLOWS_PER_EXTRACTION, maxWorkflows) }),
  };
}
