import { type ContextInput, renderPrompt } from "../engine/template-context.js";
import { ForgeRefusal } from "../forge/forge.js";
import { checkWritablePath } from "../forge/paths.js";
import { type AssertValue, jsonSchemaOf } from "./assert-value.js";
import { untrustedUses } from "./check-untrusted-uses.js";
import { type AgentPhase, isAgentPhase, type Phase, type Pipeline } from "./schema.js";
import type { RawProblem } from "./schema-problems.js";
import { checkVariable, type VariableScope } from "./template-variables.js";
import { inspectTemplate, renderTemplate, TemplateError } from "./templates.js";

/** A template found in the pipeline, and where its text lives. */
export interface TemplateSite {
  path: PropertyKey[];
  text: string;
  /** Set when the text came from a prompt file; positions are then inside that file. */
  file?: string;
}

export interface TemplateProblem extends RawProblem {
  /** Position inside the template text (1-based), when known. */
  at?: { row: number; col: number };
  file?: string;
}

/**
 * What the semantic checks read of a pipeline. A file with schema problems is checked too, on
 * the phases that are valid by themselves, so one wrong field does not hide the rest (issue 12).
 */
export interface PipelineOutline extends Pick<Pipeline, "name" | "description" | "voice_style"> {
  /**
   * Each phase as parsed. Where a phase has schema problems: `undefined`, or for an agent phase
   * whose prompt is text, a stand-in holding only its id and prompt.
   */
  phases: readonly (Phase | undefined)[];
  /** For a phase with schema problems: its own id, if it has one, and whether it is an agent phase. */
  unparsed?: ReadonlyMap<number, { id?: string; agent: boolean }>;
}

/** Checks that schema validation cannot: unique ids, supported executors, templates, assert values. */
export function checkPipeline(
  pipeline: PipelineOutline,
  prompts: Map<number, TemplateSite>,
): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const idOf = (phase: Phase | undefined, index: number) => {
    const broken = pipeline.unparsed?.get(index);
    return broken ? broken.id : phase?.id;
  };
  const all = new Set(pipeline.phases.flatMap((phase, index) => idOf(phase, index) ?? []));
  const seen = new Set<string>();
  const earlier = new Set<string>();
  const trialBudget = { msLeft: TRIAL_BUDGET_MS };
  pipeline.phases.forEach((phase, index) => {
    const id = idOf(phase, index);
    if (id !== undefined && seen.has(id)) {
      problems.push({ path: ["phases", index, "id"], message: `duplicate phase id "${id}"` });
    }
    if (id !== undefined) seen.add(id);
    const broken = pipeline.unparsed?.get(index);
    if (phase && isAgentPhase(phase)) {
      const optional = new Set<string>();
      if (pipeline.voice_style !== undefined) optional.add("voice_style");
      if (pipeline.description !== undefined) optional.add("description");
      const scope: VariableScope = { earlier, all, optional, trialBudget };
      problems.push(...checkAgentPhase(phase, index, scope, prompts.get(index), pipeline.name));
    }
    // A broken agent phase still runs before the ones after it: reading its output is not their fault.
    if (id !== undefined && (broken ? broken.agent : phase && isAgentPhase(phase))) earlier.add(id);
  });
  return problems;
}

function checkAgentPhase(
  phase: AgentPhase,
  index: number,
  scope: VariableScope,
  prompt: TemplateSite | undefined,
  pipelineName: string,
): TemplateProblem[] {
  const at = (...rest: PropertyKey[]) => ["phases", index, ...rest];
  const problems: TemplateProblem[] = [];
  if (phase.executor !== "llm") {
    problems.push({
      path: at("executor"),
      message: `executor "${phase.executor}" is not supported yet; use "llm"`,
    });
  }
  if (prompt) problems.push(...checkTemplate(prompt, scope));
  if (phase.output && "artifact" in phase.output) {
    const site = { path: at("output", "artifact"), text: phase.output.artifact };
    problems.push(...checkArtifact(site, scope, { phase, pipelineName }));
  }
  phase.gates.forEach((gate, gateIndex) => {
    if ("judge" in gate) {
      const names = new Set<string>();
      gate.judge.criteria.forEach((criterion, criterionIndex) => {
        if (names.has(criterion.name)) {
          problems.push({
            path: at("gates", gateIndex, "judge", "criteria", criterionIndex, "name"),
            message: `duplicate criterion "${criterion.name}"`,
          });
        }
        names.add(criterion.name);
        const path = at("gates", gateIndex, "judge", "criteria", criterionIndex, "rubric");
        problems.push(
          ...checkTemplate({ path, text: criterion.rubric }, { ...scope, earlier: withSelf(scope, phase) }),
        );
      });
    } else if ("assert" in gate) {
      const message = checkAssertValue(gate.assert.type, gate.assert.value, phase);
      if (message) problems.push({ path: at("gates", gateIndex, "assert"), message });
    } else if (phase.gates.findIndex((g) => "checks" in g) !== gateIndex) {
      // One commit, one CI: a second checks gate would wait on the same runs again.
      problems.push({
        path: at("gates", gateIndex, "checks"),
        message: "a phase has at most one checks gate; list every check name in one gate's names",
      });
    }
  });
  return problems;
}

/**
 * Checks the artifact template, then the path it renders to: a path the forge will refuse is
 * caught here, not after a paid model call. Path-safe variables cannot make a bad path good, so
 * placeholders stand in for them.
 */
function checkArtifact(
  site: TemplateSite,
  scope: VariableScope,
  owner: { phase: AgentPhase; pipelineName: string },
): TemplateProblem[] {
  const problems = checkTemplate(site, { ...scope, pathSafe: true });
  if (problems.length > 0) return problems;
  return withinTrialBudget(site, scope, () => checkArtifactPath(site, owner));
}

function checkArtifactPath(
  site: TemplateSite,
  owner: { phase: AgentPhase; pipelineName: string },
): TemplateProblem[] {
  try {
    // Trimmed as the worker trims it before writing (perform-effect.ts `artifactPath`).
    checkWritablePath(renderTemplate(site.text, placeholderContext(owner.phase, owner.pipelineName)).trim());
    return [];
  } catch (error) {
    if (error instanceof TemplateError)
      return [templateProblem(site, `template error: ${error.reason}`, error.at)];
    const message =
      error instanceof ForgeRefusal ? error.message : `template error: ${(error as Error).message}`;
    return [templateProblem(site, message)];
  }
}

/** Stand-ins for every path-safe variable (see PATH_SAFE in template-variables.ts). */
function placeholderContext(phase: AgentPhase, pipelineName: string): Record<string, unknown> {
  return {
    issue: { number: 1 },
    repo: { name: "repo", owner: "owner", full_name: "owner/repo", default_branch: "main" },
    pipeline: { name: pipelineName },
    phase: { id: phase.id, name: phase.name ?? phase.id },
  };
}

/** A judge grades the phase's own output, so its rubric may read it. */
function withSelf(scope: VariableScope, phase: AgentPhase): Set<string> {
  return new Set([...scope.earlier, phase.id]);
}

export function checkTemplate(site: TemplateSite, scope: VariableScope): TemplateProblem[] {
  const { variables, syntax } = inspectTemplate(site.text);
  const problems = syntax.map((p) => templateProblem(site, `template error: ${p.reason}`, p.at));
  problems.push(
    ...variables.flatMap((variable) => {
      const message = checkVariable(variable.segments, scope);
      return message ? [templateProblem(site, message, { row: variable.row, col: variable.col })] : [];
    }),
  );
  for (const use of untrustedUses(site.text, variables)) {
    const name = use.segments.join(".");
    const message = `"${name}" is untrusted: a template can only output it as it is, {{ ${name} }}; a filter, tag or comparison sees a sealed placeholder, not the text`;
    problems.push(templateProblem(site, message, { row: use.row, col: use.col }));
  }
  if (problems.length > 0 || scope.pathSafe) return problems;
  return trialRender(site, scope);
}

/**
 * How long the trial renders of one pipeline may take together. Each render stops at 500 ms, but
 * a 1 MiB pipeline holds thousands of templates (more with YAML aliases), and pipelines are
 * checked inside webhook handlers, which GitHub gives 10 s, on a server other installations
 * share. Real templates render in well under a millisecond each.
 */
export const TRIAL_BUDGET_MS = 2_000;

/**
 * Renders the template once against stand-in values, under the limits every render has: a
 * template that runs over them whatever the issue says (nested loops, a huge literal range, a
 * capture that doubles itself) or that cuts an untrusted value is refused before any run.
 * Once the pipeline's {@link TRIAL_BUDGET_MS} is spent, the rest are refused unrendered.
 */
function trialRender(site: TemplateSite, scope: VariableScope): TemplateProblem[] {
  return withinTrialBudget(site, scope, () => trialRenderOnce(site, scope));
}

function withinTrialBudget(
  site: TemplateSite,
  scope: VariableScope,
  render: () => TemplateProblem[],
): TemplateProblem[] {
  const budget = scope.trialBudget;
  if (budget && budget.msLeft <= 0) {
    if (budget.spent) return [];
    budget.spent = true;
    return [
      templateProblem(
        site,
        `the pipeline's templates took over ${TRIAL_BUDGET_MS} ms together to render once on sample values, and this one and any after it were not tried: bound their loops`,
      ),
    ];
  }
  const started = performance.now();
  try {
    return render();
  } finally {
    if (budget) budget.msLeft -= performance.now() - started;
  }
}

function trialRenderOnce(site: TemplateSite, scope: VariableScope): TemplateProblem[] {
  const input: ContextInput = {
    issue: { number: 1, title: "title", body: "body", labels: ["label"], author: "author", url: "url" },
    repo: { owner: "owner", name: "repo", defaultBranch: "main" },
    pipeline: { name: "pipeline", description: "description", voiceStyle: "voice" },
    outputs: Object.fromEntries([...scope.earlier].map((id) => [id, "output"])),
    phase: { id: "phase", name: "phase" },
  };
  try {
    renderPrompt(site.text, input);
    return [];
  } catch (error) {
    // Other render errors may come from the stand-ins themselves (a number that is 1 here);
    // limits and seals do not depend on the issue's text, which the template never sees.
    if (!(error instanceof TemplateError) || error.kind === "render") return [];
    return [templateProblem(site, `template error: ${error.reason}`, error.at)];
  }
}

function templateProblem(
  site: TemplateSite,
  message: string,
  at?: { row: number; col: number },
): TemplateProblem {
  const problem: TemplateProblem = { path: site.path, message };
  if (at) problem.at = at;
  if (site.file) problem.file = site.file;
  return problem;
}

function checkAssertValue(type: string, value: AssertValue, phase: AgentPhase): string | undefined {
  const kind = type.replace(/^not-/, "");
  switch (kind) {
    case "contains":
      return typeof value === "string" && value !== "" ? undefined : `"${type}" needs a non-empty text value`;
    case "regex":
      if (typeof value !== "string") return `"${type}" needs a pattern value`;
      try {
        new RegExp(value, "u");
        return undefined;
      } catch (error) {
        return `invalid regular expression: ${(error as Error).message}`;
      }
    case "min-words":
    case "max-words":
      return typeof value === "number" && Number.isInteger(value) && value >= 0
        ? undefined
        : `"${type}" needs a whole number value`;
    case "json-schema":
      try {
        jsonSchemaOf(value);
        return undefined;
      } catch (error) {
        return `"${type}" needs a JSON Schema it can read: ${(error as Error).message}`;
      }
    case "paths":
      if (!phase.output || !("files" in phase.output))
        return `"${type}" applies only to a phase with output { files: true }`;
      return Array.isArray(value) && value.length > 0 ? undefined : `"${type}" needs a list of globs`;
    default:
      return value === undefined ? undefined : `"${type}" takes no value`;
  }
}
