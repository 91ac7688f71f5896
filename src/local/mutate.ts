import { basename, extname, resolve } from "node:path";
import { outputText } from "../engine/output-text.js";
import { promptContext } from "../engine/template-context.js";
import { parseFileEdit } from "../executors/llm.js";
import { evaluateGates } from "../judge/evaluate-gates.js";
import { createHeuristicJudge, type HeuristicReference, type JudgedWork } from "../judge/heuristic-judge.js";
import type { JudgeCall } from "../judge/judge-gate.js";
import { formatProblem } from "../pipeline/problem.js";
import type { ResolvedAgentPhase } from "../pipeline/resolved.js";
import { renderTemplate } from "../pipeline/templates.js";
import { estimateTokens, offlineResponse } from "../providers/provider.js";
import type { Io } from "./commands.js";
import { type CountedCall, type RealJudge, realJudge } from "./mutate-judge.js";
import { printMutationReport } from "./mutate-report.js";
import { type MutationKind, mutationsOf, type PhaseOutput } from "./mutations.js";
import {
  displayPath,
  gateLabels,
  listScenarioFiles,
  loadScenario,
  type PipelineTarget,
  runScenario,
  type Scenario,
} from "./scenarios.js";

export interface MutateOptions {
  /** A scenario to take the good outputs from: its file, its file name without extension, or its name. */
  scenario?: string;
  /** Grade with this real provider's judges instead of the offline heuristic. */
  provider?: string;
  /** The server settings file (models, prices, base URLs) for `provider`. */
  settings?: string;
}

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

export interface PhaseTrials {
  id: string;
  /** Gate names as verdicts give them: `assert paths`, `judge`, `judge #2`. */
  labels: string[];
  good: Trial;
  mutations: Trial[];
  skipped: { kind: MutationKind; why: string }[];
}

/** What the mutations start from: a scenario and the output of each phase's passing attempt. */
interface Baseline {
  scenario: Scenario;
  outputs: Map<string, PhaseOutput>;
}

/** A local run's repository, as scenario runs name it: rubrics may read `repo.*`. */
const REPO = { owner: "local", name: "repo", defaultBranch: "main" };

/**
 * `atomic-scrum test <pipeline> --mutate`: takes the good outputs of a scenario, makes bad ones
 * from them (see `mutations.ts`), puts each through its phase's gates and reports which gates
 * caught what. 1 when a mutation got through every gate of its phase, or when a good output fails
 * its own gates (a catch then proves nothing).
 */
export async function mutateCommand(
  target: PipelineTarget,
  dir: string,
  options: MutateOptions,
  io: Io,
): Promise<number> {
  const chosen = chooseScenario(target, dir, options.scenario);
  if (typeof chosen === "string") {
    io.err(chosen);
    return 1;
  }
  let real: RealJudge | undefined;
  if (options.provider) {
    try {
      real = realJudge(options.provider, options.settings, process.env, io);
    } catch (error) {
      io.err((error as Error).message);
      return 1;
    }
  }
  let baseline: Baseline;
  try {
    baseline = await baselineOf(chosen, target);
  } catch (error) {
    io.err(`${chosen.name}: could not run: ${(error as Error).message}`);
    return 1;
  }
  io.out(
    `atomic-scrum test --mutate · ${target.pipeline.name} · good outputs from "${chosen.name}" (${displayPath(chosen.file)})`,
  );
  if (real) {
    const calls: CountedCall[] = [];
    await trialsOf(target, baseline, () => countingJudge(calls));
    for (const line of real.describe(calls)) io.out(line);
  } else {
    io.out("judge: offline heuristic stand-in, not a model (see docs/gates.md#mutation-testing)");
  }
  const judge = real ? () => real.judge : createHeuristicJudge;
  const phases = await trialsOf(target, baseline, judge);
  const code = printMutationReport(phases, target.pipeline, io);
  const failure = real?.failure();
  if (failure) io.err(`some judge calls failed (shown as error): ${failure}`);
  return code;
}

/** The scenario named by `--scenario`, else the first one in which every phase passes first time. */
function chooseScenario(target: PipelineTarget, dir: string, wanted: string | undefined): Scenario | string {
  const files = listScenarioFiles(dir);
  const problems: string[] = [];
  for (const file of files) {
    const named =
      wanted === undefined || resolve(wanted) === file || basename(file, extname(file)) === wanted;
    const loaded = loadScenario(file, target.pipeline);
    if (!loaded.ok) {
      if (named) problems.push(...loaded.problems.map(formatProblem));
      continue;
    }
    const { scenario } = loaded;
    if (wanted !== undefined ? named || scenario.name === wanted : isCleanRun(scenario, target))
      return scenario;
  }
  if (problems.length > 0) return problems.join("\n");
  const where = displayPath(dir);
  return wanted !== undefined
    ? `no scenario "${wanted}" in ${where}: name a file there (with or without .yml) or a scenario's name`
    : `no scenario in ${where} says every phase passes on its first attempt; name the scenario to start from with --scenario`;
}

/** A scenario whose expectations say every agent phase passes on its first attempt. */
function isCleanRun(scenario: Scenario, target: PipelineTarget): boolean {
  return agentPhases(target).every((phase) => {
    const want = scenario.expect.phases[phase.id];
    const first = want?.gates?.[0];
    const passed =
      first === undefined ||
      first === "pass" ||
      (typeof first === "object" && Object.values(first).every((outcome) => outcome === "pass"));
    return want?.attempts === 1 && passed;
  });
}

function agentPhases(target: PipelineTarget): ResolvedAgentPhase[] {
  return target.pipeline.phases.filter((phase): phase is ResolvedAgentPhase => phase.kind === "agent");
}

/** Runs the scenario and takes, for each phase, the recorded answer of the attempt that passed. */
async function baselineOf(scenario: Scenario, target: PipelineTarget): Promise<Baseline> {
  const observed = await runScenario(scenario, target);
  const outputs = new Map<string, PhaseOutput>();
  for (const phase of agentPhases(target)) {
    const passed = observed.phases.get(phase.id)?.find((attempt) => attempt.outcome === "pass");
    const answer = passed ? scenario.cassettes[phase.id]?.[passed.attempt - 1]?.agent : undefined;
    if (answer === undefined) continue;
    const text = typeof answer === "string" ? answer : JSON.stringify(answer);
    if (!("files" in phase.output)) {
      outputs.set(phase.id, { text });
      continue;
    }
    const edit = parseFileEdit(text, { allowWorkflows: true });
    outputs.set(phase.id, { text: edit.summary, files: edit.files });
  }
  return { scenario, outputs };
}

/**
 * Puts the good output and every mutation of it through each gated phase's gates, with the
 * judge `judgeOf` makes for that phase. Phases run in order, so rubrics read the good outputs
 * of the phases before, as they would in a run.
 */
async function trialsOf(
  target: PipelineTarget,
  baseline: Baseline,
  judgeOf: (reference: HeuristicReference) => JudgeCall,
): Promise<PhaseTrials[]> {
  const { pipeline } = target;
  const { scenario } = baseline;
  const repository: Record<string, string> = { ...scenario.files };
  const outputs: Record<string, string> = {};
  const out: PhaseTrials[] = [];
  for (const phase of agentPhases(target)) {
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
  const rubricContext = promptContext({
    issue: scenario.issue,
    repo: REPO,
    pipeline: target.pipeline,
    outputs: { ...context.outputs, [phase.id]: output.text },
    phase: { id: phase.id, name: phase.name },
  });
  const gates = { subject, renderRubric: (rubric: string) => renderTemplate(rubric, rubricContext) };
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

/**
 * Answers every criterion with a pass and notes the call: a dry pass with it counts the calls a
 * real judge will get, since judges run whenever the asserts pass, whatever other judges say.
 */
function countingJudge(calls: CountedCall[]): JudgeCall {
  return async (request, target) => {
    calls.push({
      tier: target.tier,
      ...(target.provider ? { provider: target.provider } : {}),
      ...(target.model ? { model: target.model } : {}),
      inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt),
    });
    return offlineResponse("count", { ...request, tier: target.tier }, '{"score":1,"reason":"counted"}');
  };
}
