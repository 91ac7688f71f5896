/** One thing wrong with a pipeline file, located so an editor can jump to it. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Field path such as `phases[2].tier`; empty for the document itself. */
  path: string;
  message: string;
}

/** `file:line:col: field.path: message`, the format editors and CI annotations understand. */
export function formatProblem(problem: Problem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  return problem.path ? `${where}: ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** `["phases", 2, "tier"]` -> `phases[2].tier`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

export class PipelineError extends Error {
  override name = "PipelineError";
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}
