import { outputText } from "../engine/output-text.js";
import { renderPrompt } from "../engine/template-context.js";
import { parseFileEdit } from "../executors/llm.js";
import { SENSITIVE_AREAS } from "../forge/sensitive-paths.js";
import { evaluateGates } from "../judge/evaluate-gates.js";
import type { HeuristicReference, JudgedWork } from "../judge/heuristic-judge.js";
import type { JudgeCall } from "../judge/judge-gate.js";
import type { ResolvedAgentPhase } from "../pipeline/resolved.js";
import { type MutationKind, mutationsOf, type PhaseOutput } from "./mutations.js";
import { agentPhases, gateLabels, type PipelineTarget, runScenario, type Scenario } from "./scenarios.js";

/** How one gate took one output. */
export interface GateCell {
  outcome: "pass" | "caught" | "skipped" | "error";
  /** A judge's weighted score. */
  score?: number;
  /** A judge whose score passed but that refused the output for a criterion under its floor. */
  belowFloor?: boolean;
}

/** One output put through a phase's gates: the good one, or a mutation of it. */
export interface Trial {
  kind: MutationKind | "good";
  /** One cell per gate, in the order of `PhaseTrials.labels`. */
  cells: GateCell[];
  /** Labels of the gates that refused it. */
  caughtBy: string[];
}

/** What one gated phase made of its good output and the mutations of it. */
export interface PhaseTrials {
  id: string;
  /** Gate names as verdicts give them: `assert paths`, `judge`, `judge #2`. */
  labels: string[];
  good: Trial;
  mutations: Trial[];
  skipped: { kind: MutationKind; why: string }[];
}

/** What the mutations start from: a scenario and the output of each phase's passing attempt. */
export interface Baseline {
  scenario: Scenario;
  outputs: Map<string, PhaseOutput>;
}

/** A local run's repository, as scenario runs name it: rubrics may read `repo.*`. */
const REPO = { owner: "local", name: "repo", defaultBranch: "main" };

/** Runs the scenario and takes, for each phase, the recorded answer of the attempt that passed. */
export async function baselineOf(scenario: Scenario, target: PipelineTarget): Promise<Baseline> {
  const observed = await runScenario(scenario, target);
  const outputs = new Map<string, PhaseOutput>();
  for (const phase of agentPhases(target.pipeline)) {
    const passed = observed.phases.get(phase.id)?.find((attempt) => attempt.outcome === "pass");
    const answer = passed ? scenario.cassettes[phase.id]?.[passed.attempt - 1]?.agent : undefined;
    if (answer === undefined) continue;
    const text = typeof answer === "string" ? answer : JSON.stringify(answer);
    if (!("files" in phase.output)) {
      outputs.set(phase.id, { text });
      continue;
    }
    // An answer that passed its run: only the gates' view of it matters here, not what it may write.
    const edit = parseFileEdit(text, { allow: SENSITIVE_AREAS });
    outputs.set(phase.id, { text: edit.summary, files: edit.files });
  }
  return { scenario, outputs };
}

/**
 * Puts the good output and every mutation of it through each gated phase's gates, with the
 * judge `judgeOf` makes for that phase. Phases run in order, so rubrics read the good outputs
 * of the phases before, as they would in a run.
 */
export async function trialsOf(
  target: PipelineTarget,
  baseline: Baseline,
  judgeOf: (reference: HeuristicReference) => JudgeCall,
): Promise<PhaseTrials[]> {
  const { pipeline } = target;
  const { scenario } = baseline;
  const repository: Record<string, string> = { ...scenario.files };
  const outputs: Record<string, string> = {};
  const out: PhaseTrials[] = [];
  for (const phase of agentPhases(target.pipeline)) {
    const good = baseline.outputs.get(phase.id);
    if (!good) continue;
    if (phase.gates.length > 0) {
      const reference: HeuristicReference = {
        good: judged(good),
        issue: scenario.issue,
        ...(pipeline.voiceStyle ? { voiceStyle: pipeline.voiceStyle } : {}),
      };
      const judge = judgeOf(reference);
      const labels = gateLabels(phase);
      const run = (kind: Trial["kind"], output: PhaseOutput) =>
        trial(kind, output, { phase, labels, judge, repository, outputs, target, scenario });
      const trials: PhaseTrials = {
        id: phase.id,
        labels,
        good: await run("good", good),
        mutations: [],
        skipped: [],
      };
      for (const mutation of mutationsOf({ pipeline, phase, good, repository })) {
        if ("skipped" in mutation) trials.skipped.push({ kind: mutation.kind, why: mutation.skipped });
        else trials.mutations.push(await run(mutation.kind, mutation.output));
      }
      out.push(trials);
    }
    for (const file of good.files ?? []) {
      if ("content" in file) repository[file.path] = file.content;
      else delete repository[file.path];
    }
    outputs[phase.id] = outputText({
      ...good,
      provider: "",
      model: "",
      tier: phase.tier,
      usage: NO_USAGE,
      costUsd: 0,
    });
  }
  return out;
}

const NO_USAGE = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

interface TrialContext {
  phase: ResolvedAgentPhase;
  labels: string[];
  judge: JudgeCall;
  repository: Record<string, string>;
  outputs: Record<string, string>;
  target: PipelineTarget;
  scenario: Scenario;
}

/** One output through the phase's gates, as the worker evaluates an attempt. */
async function trial(kind: Trial["kind"], output: PhaseOutput, context: TrialContext): Promise<Trial> {
  const { phase, labels, repository, target, scenario } = context;
  const previous = Object.fromEntries(
    (output.files ?? []).flatMap((file) =>
      repository[file.path] === undefined ? [] : [[file.path, repository[file.path] as string]],
    ),
  );
  const subject = {
    text: output.text,
    ...(output.files ? { files: output.files, previous } : {}),
    phaseId: phase.id,
    attempt: 1,
  };
  const rubricInput = {
    issue: scenario.issue,
    repo: REPO,
    pipeline: target.pipeline,
    outputs: { ...context.outputs, [phase.id]: output.text },
    phase: { id: phase.id, name: phase.name },
  };
  const gates = { subject, renderRubric: (rubric: string) => renderPrompt(rubric, rubricInput) };
  let verdict = await evaluateGates(phase.gates, { ...gates, judge: context.judge });
  // As in a run: a grader error is tried once more with fresh calls before it stands.
  if (verdict.results.some((result) => result.error))
    verdict = await evaluateGates(phase.gates, { ...gates, judge: context.judge });
  const cells = labels.map((_, index): GateCell => {
    const result = verdict.results[index];
    if (!result) return { outcome: "skipped" };
    const outcome = result.error ? "error" : result.pass ? "pass" : "caught";
    if (!result.details) return { outcome };
    // Worth saying only when the floor is why: the score alone would have passed.
    const floored =
      result.score >= result.details.threshold &&
      result.details.criteria.some((c) => c.floor !== undefined && c.score < c.floor);
    return { outcome, score: result.score, ...(floored ? { belowFloor: true } : {}) };
  });
  const caughtBy = labels.filter((_, index) => cells[index]?.outcome === "caught");
  return { kind, cells, caughtBy };
}

function judged(output: PhaseOutput): JudgedWork {
  const files = (output.files ?? []).map((file) => ({
    path: file.path,
    content: "content" in file ? file.content : undefined,
  }));
  return { text: output.text, files };
}
