import { closest, distance } from "fastest-levenshtein";

/** The variables a template may read, apart from `phases.<id>.output`. */
export const TEMPLATE_FIELDS: Record<string, readonly string[]> = {
  issue: ["title", "body", "number", "url", "labels", "author"],
  repo: ["name", "owner", "full_name", "default_branch"],
  pipeline: ["name", "description", "voice_style"],
  phase: ["id", "name"],
};
const ROOTS = [...Object.keys(TEMPLATE_FIELDS), "phases"];

export interface VariableScope {
  /** Ids of the agent phases that run before the template's phase. */
  earlier: ReadonlySet<string>;
  /** Ids of every phase, to tell "runs later" from "does not exist". */
  all: ReadonlySet<string>;
  /** Optional pipeline fields the pipeline actually sets (`voice_style`, `description`). */
  optional: ReadonlySet<string>;
  /** Set for path templates: only these variables may build a path, never issue text. */
  pathSafe?: boolean;
  /** Shared by every template of one pipeline check: the trial renders' time left, in ms. */
  trialBudget?: { msLeft: number; spent?: boolean };
}

/** Variables a path template may use: nothing a person outside the repository wrote. */
const PATH_SAFE = new Set([
  "issue.number",
  "repo.name",
  "repo.owner",
  "repo.full_name",
  "repo.default_branch",
  "pipeline.name",
  "phase.id",
  "phase.name",
]);

/** Says what is wrong with a variable a template reads, or undefined when it resolves. */
export function checkVariable(segments: readonly string[], scope: VariableScope): string | undefined {
  const [root, field, sub] = segments;
  const name = segments.join(".");
  if (root === undefined) return undefined;
  if (root === "phases") {
    if (scope.pathSafe) return `"${name}" cannot build a path: model output must not choose file names`;
    return checkPhaseOutput(name, field, sub, scope);
  }
  const fields = TEMPLATE_FIELDS[root];
  if (!fields) return `undefined variable "${name}"${suggest(root, ROOTS)}`;
  if (field === undefined) return `"${root}" is an object: read one of its fields (${fields.join(", ")})`;
  if (!fields.includes(field)) return `undefined variable "${name}"${suggest(field, fields, `${root}.`)}`;
  if (
    root === "pipeline" &&
    (field === "voice_style" || field === "description") &&
    !scope.optional.has(field)
  ) {
    return `"${name}" is used but the pipeline sets no ${field}`;
  }
  if (scope.pathSafe && !PATH_SAFE.has(`${root}.${field}`)) {
    return `"${name}" cannot build a path: issue text must not choose file names (use ${[...PATH_SAFE].join(", ")})`;
  }
  return undefined;
}

function checkPhaseOutput(
  name: string,
  id: string | undefined,
  field: string | undefined,
  scope: VariableScope,
): string | undefined {
  if (id === undefined || field !== "output")
    return `"${name}" is not a phase output: write phases.<id>.output`;
  if (scope.earlier.has(id)) return undefined;
  if (scope.all.has(id)) return `"${name}" is read before phase "${id}" runs (or "${id}" has no output)`;
  return `undefined variable "${name}": there is no phase "${id}"${suggest(id, [...scope.all])}`;
}

/**
 * ` (did you mean "x"?)` for a near miss, or nothing. `minDistance` is how far any word may be
 * off: 2 suits field names; among the many short names of liquid's filters it finds "pop" for "nope".
 */
export function suggest(word: string, options: readonly string[], prefix = "", minDistance = 2): string {
  if (options.length === 0) return "";
  const best = closest(word, [...options]);
  return distance(word, best) <= Math.max(minDistance, Math.floor(word.length / 3))
    ? ` (did you mean "${prefix}${best}"?)`
    : "";
}
