import { basename, extname, resolve } from "node:path";
import { createHeuristicJudge } from "../judge/heuristic-judge.js";
import type { JudgeCall } from "../judge/judge-gate.js";
import { formatProblem } from "../pipeline/problem.js";
import { estimateTokens, offlineResponse } from "../providers/provider.js";
import type { Io } from "./commands.js";
import { type CountedCall, type RealJudge, realJudge } from "./mutate-judge.js";
import { printMutationReport } from "./mutate-report.js";
import { type Baseline, baselineOf, trialsOf } from "./mutate-trials.js";
import {
  agentPhases,
  displayPath,
  listScenarioFiles,
  loadScenario,
  type PipelineTarget,
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
  return agentPhases(target.pipeline).every((phase) => {
    const want = scenario.expect.phases[phase.id];
    const first = want?.gates?.[0];
    const passed =
      first === undefined ||
      first === "pass" ||
      (typeof first === "object" && Object.values(first).every((outcome) => outcome === "pass"));
    return want?.attempts === 1 && passed;
  });
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
