import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";

export const HEAD = "name: demo\nphases:\n";

/** The `file:line:col: path: message` lines `atomic-scrum validate` would print for a pipeline text. */
export function problemLines(text: string, file = "p.yml"): string[] {
  const result = loadPipelineText(text, file);
  return result.ok ? [] : result.problems.map(formatProblem);
}
