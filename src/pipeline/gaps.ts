import type { ResolvedAgentPhase, ResolvedPipeline } from "./resolved.js";
import type { JudgeGate } from "./schema.js";
import { analyzeTemplate } from "./templates.js";
import { untoldAsserts } from "./untold-asserts.js";

/**
 * Gaps in a pipeline's intent spec: things that validate but say less than the author meant. Pure,
 * so `--dry-run` and tests ask the same function. Every gap names the phase it is about and the
 * field responsible, written `<phase>.<field>` (or `budget.<limit>` for the pipeline's budget).
 */
export type GapKind =
  /** An artifact that no later prompt or rubric reads, and that is not the run's deliverable. */
  | "unread-output"
  /** An agent phase with no gates: whatever it produces passes. */
  | "no-gate"
  /** A judge with no criteria grades nothing (the schema refuses it; checked for hand-built pipelines). */
  | "judge-without-criteria"
  /** A judge with threshold 0 and no floor passes every answer. */
  | "judge-cannot-fail"
  /** A rubric that is empty or a single word once its template tags are removed. */
  | "vague-rubric"
  /** A criterion so light that scoring 0 on it still passes the gate when the others score 1. */
  | "criterion-cannot-fail"
  /** Asserts that contradict each other: no answer passes them. */
  | "unpassable-gate"
  /** A phase the run can never start: an earlier gate no answer passes, or the budget runs out first. */
  | "unreachable"
  /** A checks gate: only a run on GitHub has CI to wait for; locally and in tests it is skipped. */
  | "checks-offline"
  /** An agent phase after an approval phase: it commits past the approved commit. */
  | "after-approval"
  /** An assert the prompt never tells the agent about: only judge rubrics are held out. */
  | "untold-assert";

export interface Gap {
  kind: GapKind;
  /** `note`: worth a look, often deliberate. `warning`: almost certainly not what was meant. */
  severity: "warning" | "note";
  /** The phase the gap is about. */
  phase: string;
  /** The field responsible, e.g. `draft.gates[1].judge.criteria[0].rubric` or `budget.max_tokens`. */
  field: string;
  message: string;
}

/**
 * What the cheapest path through the run (every attempt passes at once) is estimated to have
 * spent when phase `phase` makes its first call, that call's input included: the least the
 * budget must allow for the phase to start. Estimates come from the caller (the dry run).
 */
export interface BudgetNeed {
  phase: string;
  tokens: number;
  costUsd: number;
}

/** Finds the gaps of a pipeline; `needs` adds the phases a budget can never reach. */
export function findGaps(pipeline: ResolvedPipeline, options: { needs?: readonly BudgetNeed[] } = {}): Gap[] {
  const agents = pipeline.phases.filter((phase): phase is ResolvedAgentPhase => phase.kind === "agent");
  const gaps: Gap[] = [];
  for (const phase of agents) {
    gaps.push(...unreadOutput(phase, agents));
    gaps.push(...gateGaps(phase));
  }
  gaps.push(...unreachable(pipeline, options.needs ?? []));
  gaps.push(...afterApproval(pipeline));
  const order = new Map(pipeline.phases.map((phase, index) => [phase.id, index]));
  // Stable: within a phase, gaps keep the order they were found in.
  return gaps
    .map((gap, index) => ({ gap, index }))
    .sort((a, b) => (order.get(a.gap.phase) ?? 0) - (order.get(b.gap.phase) ?? 0) || a.index - b.index)
    .map(({ gap }) => gap);
}

/**
 * An agent phase after the last approval phase commits on top of the approved commit, so the
 * approval check is missing on the head that would be merged: a protected branch cannot merge.
 */
function afterApproval(pipeline: ResolvedPipeline): Gap[] {
  const approval = pipeline.phases.map((phase) => phase.kind).lastIndexOf("approval");
  if (approval < 0) return [];
  const approvalId = pipeline.phases[approval]?.id ?? "";
  return pipeline.phases
    .slice(approval + 1)
    .filter((phase) => phase.kind === "agent")
    .map((phase) => ({
      kind: "after-approval" as const,
      severity: "warning" as const,
      phase: phase.id,
      field: `${phase.id}`,
      message: `runs after the approval phase "${approvalId}" and commits past the approved commit: the approval check is then missing on the head, and a branch that requires it cannot merge; put the approval phase last`,
    }));
}

/**
 * An artifact nobody reads. Readers are the prompts and rubrics of later agent phases (a phase's
 * own rubric grades it and does not count). Exempt: the last agent phase, whose document is what
 * the human review reads, and `files` phases, whose output is the change on the branch itself.
 */
function unreadOutput(phase: ResolvedAgentPhase, agents: ResolvedAgentPhase[]): Gap[] {
  if (!("artifact" in phase.output)) return [];
  const later = agents.slice(agents.indexOf(phase) + 1);
  if (later.length === 0) return [];
  const read = later.some((reader) => templatesOf(reader).some((text) => readsOutput(text, phase.id)));
  if (read) return [];
  return [
    {
      kind: "unread-output",
      severity: "warning",
      phase: phase.id,
      field: `${phase.id}.output`,
      message: `no later prompt or rubric reads {{ phases.${phase.id}.output }}: the phase is paid for and its document only reaches the branch (read it in a later prompt or rubric, or drop the phase)`,
    },
  ];
}

function templatesOf(phase: ResolvedAgentPhase): string[] {
  const rubrics = phase.gates.flatMap((gate) =>
    "judge" in gate ? gate.judge.criteria.map((criterion) => criterion.rubric) : [],
  );
  return [phase.prompt, ...rubrics];
}

function readsOutput(template: string, id: string): boolean {
  try {
    return analyzeTemplate(template).variables.some(
      (variable) =>
        variable.segments[0] === "phases" && variable.segments[1] === id && variable.segments[2] === "output",
    );
  } catch {
    // A template that does not parse is a validation error, reported there; here it reads nothing.
    return false;
  }
}

function gateGaps(phase: ResolvedAgentPhase): Gap[] {
  const gap = (
    kind: GapKind,
    field: string,
    message: string,
    severity: Gap["severity"] = "warning",
  ): Gap => ({
    kind,
    severity,
    phase: phase.id,
    field: `${phase.id}.${field}`,
    message,
  });
  if (phase.gates.length === 0) {
    return [
      gap(
        "no-gate",
        "gates",
        "an agent phase with no gates passes whatever the model answers: add an assert or a judge",
      ),
    ];
  }
  const gaps: Gap[] = [];
  phase.gates.forEach((gate, index) => {
    if ("judge" in gate) gaps.push(...judgeGaps(gate.judge, `gates[${index}].judge`, gap));
    if ("checks" in gate) {
      const alone =
        phase.gates.length === 1
          ? ": it is this phase's only gate, so offline the phase passes whatever the model answers"
          : "";
      gaps.push(
        gap(
          "checks-offline",
          `gates[${index}].checks`,
          `the checks gate waits for the repository's CI on GitHub; a local run, scenario tests and mutation testing have no CI and pass it as skipped${alone}`,
          "note",
        ),
      );
    }
  });
  const unpassable = unpassableAssert(phase);
  if (unpassable) gaps.push(gap("unpassable-gate", unpassable.field, unpassable.message));
  for (const untold of untoldAsserts(phase, withoutTags(phase.prompt)))
    gaps.push(gap("untold-assert", untold.field, untold.message));
  return gaps;
}

type MakeGap = (kind: GapKind, field: string, message: string, severity?: Gap["severity"]) => Gap;

function judgeGaps(judge: JudgeGate["judge"], at: string, gap: MakeGap): Gap[] {
  if (judge.criteria.length === 0)
    return [gap("judge-without-criteria", `${at}.criteria`, "a judge with no criteria grades nothing")];
  const gaps: Gap[] = [];
  const floored = judge.criteria.some((criterion) => (criterion.floor ?? 0) > 0);
  if (judge.threshold === 0 && !floored) {
    gaps.push(
      gap(
        "judge-cannot-fail",
        `${at}.threshold`,
        "threshold 0 and no criterion has a floor: the judge passes every answer and is paid for nothing",
      ),
    );
  }
  const total = judge.criteria.reduce((sum, criterion) => sum + criterion.weight, 0);
  judge.criteria.forEach((criterion, index) => {
    const field = `${at}.criteria[${index}]`;
    const words = rubricWords(criterion.rubric);
    if (words <= 1) {
      const what = words === 0 ? "empty" : "a single word";
      gaps.push(
        gap(
          "vague-rubric",
          `${field}.rubric`,
          `the rubric of "${criterion.name}" is ${what} once template tags are removed: a judge cannot grade against it consistently (say what earns 1.0, 0.5 and 0.0)`,
        ),
      );
    }
    // Scoring 0 here and 1 elsewhere gives (total - weight) / total: at or over the threshold, this
    // criterion cannot fail the gate by itself. Often deliberate; a floor makes it a must-have.
    const alone = total > 0 ? (total - criterion.weight) / total : 0;
    if (judge.threshold > 0 && judge.criteria.length > 1 && criterion.floor === undefined) {
      if (alone >= judge.threshold - 1e-9) {
        gaps.push(
          gap(
            "criterion-cannot-fail",
            `${field}.weight`,
            `"${criterion.name}" (weight ${criterion.weight} of ${total}) cannot fail the gate by itself: at 0 with the rest at 1 the score is ${alone.toFixed(2)}, threshold ${judge.threshold}; give it a floor if it is a must-have`,
            "note",
          ),
        );
      }
    }
  });
  return gaps;
}

/** Words a judge can read in a rubric: template tags removed. */
function rubricWords(rubric: string): number {
  return withoutTags(rubric)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean).length;
}

/**
 * The text with `{{ … }}` and `{% … %}` cut out, in one pass. A lazy regex restarted its scan at
 * every unclosed `{{` (which a `{% raw %}` block lets through validate): quadratic on a 100,000
 * character rubric, seconds of dry run per template (issue 11).
 */
function withoutTags(text: string): string {
  const opens = /\{[{%]/g;
  // A kind whose closer is missing after some point has none after any later point either.
  const exhausted = new Set<string>();
  let out = "";
  let at = 0;
  for (let open = opens.exec(text); open; open = opens.exec(text)) {
    const closer = open[0] === "{{" ? "}}" : "%}";
    if (exhausted.has(closer)) continue;
    const close = text.indexOf(closer, open.index + 2);
    if (close < 0) {
      exhausted.add(closer);
      continue;
    }
    out += `${text.slice(at, open.index)} `;
    at = close + 2;
    opens.lastIndex = at;
  }
  return out + text.slice(at);
}

/**
 * Asserts no answer can pass: a check and its `not-` with the same value, or word limits that
 * leave no count (an artifact needs at least one word: an empty answer is refused before the
 * gates). Returns the gate that closed the door (`gates[i].assert`), and why.
 */
export function unpassableAssert(phase: ResolvedAgentPhase): { field: string; message: string } | undefined {
  const seen: { type: string; value: string; index: number }[] = [];
  let low = "artifact" in phase.output ? 1 : 0;
  let high = Number.POSITIVE_INFINITY;
  for (const [index, gate] of phase.gates.entries()) {
    if (!("assert" in gate)) continue;
    const { type } = gate.assert;
    const value = JSON.stringify(gate.assert.value ?? null);
    const opposite = type.startsWith("not-") ? type.slice(4) : `not-${type}`;
    const clash = seen.find((other) => other.type === opposite && other.value === value);
    const field = `gates[${index}].assert`;
    if (clash) {
      return {
        field,
        message: `"${type}" contradicts gates[${clash.index}] ("${opposite}" with the same value): no answer passes both`,
      };
    }
    seen.push({ type, value, index });
    const count = typeof gate.assert.value === "number" ? gate.assert.value : undefined;
    if (count === undefined) continue;
    if (type === "min-words") low = Math.max(low, count);
    if (type === "not-min-words") high = Math.min(high, count - 1);
    if (type === "max-words") high = Math.min(high, count);
    if (type === "not-max-words") low = Math.max(low, count + 1);
    if (low > high) {
      const floor = "artifact" in phase.output && low === 1 ? " (an empty document is refused)" : "";
      return {
        field,
        message: `word limits leave no possible length: at least ${low}${floor} and at most ${high} words`,
      };
    }
  }
  return undefined;
}

/**
 * Phases the run never starts. A linear pipeline has two ways to strand a phase: an earlier agent
 * phase whose asserts no answer passes (retries and escalation cannot help), and a budget the
 * cheapest path through the earlier phases already spends. Waits (at most 365d, the schema's
 * limit) and approvals (any number of people can approve) always end, so they strand nothing.
 */
function unreachable(pipeline: ResolvedPipeline, needs: readonly BudgetNeed[]): Gap[] {
  const block = firstBlock(pipeline, needs);
  if (!block) return [];
  return pipeline.phases.slice(block.from).map((phase) => ({
    kind: "unreachable" as const,
    severity: "warning" as const,
    phase: phase.id,
    field: block.field,
    message: `never runs: ${block.reason}`,
  }));
}

function firstBlock(
  pipeline: ResolvedPipeline,
  needs: readonly BudgetNeed[],
): { from: number; field: string; reason: string } | undefined {
  const need = new Map(needs.map((entry) => [entry.phase, entry]));
  const budget = pipeline.budget ?? {};
  for (const [index, phase] of pipeline.phases.entries()) {
    if (phase.kind !== "agent") continue;
    const estimate = need.get(phase.id);
    if (estimate && budget.maxTokens !== undefined && estimate.tokens > budget.maxTokens) {
      return {
        from: index,
        field: "budget.max_tokens",
        reason: `even if every attempt passes at once, about ${Math.round(estimate.tokens)} tokens are needed by the first call of "${phase.id}", over budget.max_tokens ${budget.maxTokens}`,
      };
    }
    if (estimate && budget.maxCostUsd !== undefined && estimate.costUsd > budget.maxCostUsd) {
      return {
        from: index,
        field: "budget.max_cost_usd",
        reason: `even if every attempt passes at once, about $${estimate.costUsd.toFixed(4)} is needed by the first call of "${phase.id}", over budget.max_cost_usd ${budget.maxCostUsd}`,
      };
    }
    const unpassable = unpassableAssert(phase);
    if (unpassable && index + 1 < pipeline.phases.length) {
      return {
        from: index + 1,
        field: `${phase.id}.${unpassable.field}`,
        reason: `phase "${phase.id}" can never pass its gates (${unpassable.message})`,
      };
    }
  }
  return undefined;
}
