import { resolve } from "node:path";
import { loadPipelineFile } from "../pipeline/load-pipeline.js";
import { formatProblem } from "../pipeline/problem.js";
import { resolvePipelinePath } from "./builtin.js";
import type { Io } from "./commands.js";
import { type MutateOptions, mutateCommand } from "./mutate.js";
import {
  compareScenario,
  defaultScenarioDir,
  describeRun,
  displayPath,
  listScenarioFiles,
  loadScenario,
  type Observation,
  type PipelineTarget,
  runScenario,
} from "./scenarios.js";

const INDENT = "    ";

/**
 * `atomic-scrum test <pipeline> [--scenarios DIR]`: runs each scenario of the pipeline and prints
 * a line per scenario, the expectations that did not hold under a failed one, and
 * `N passed, N failed`. 1 on any failure, on a scenario file with problems, or on no scenarios.
 * With `mutate`, it runs a mutation test instead (see `mutate.ts`).
 */
export async function testCommand(
  pipelineArg: string,
  options: { scenarios?: string; mutate?: boolean } & MutateOptions,
  io: Io,
): Promise<number> {
  const onlyWithMutate = (["scenario", "provider"] as const).filter((key) => options[key]);
  if (!options.mutate && onlyWithMutate.length > 0) {
    const flags = onlyWithMutate.map((key) => `--${key}`);
    io.err(`${flags.join(" and ")} ${flags.length > 1 ? "are" : "is"} only for --mutate`);
    return 1;
  }
  const path = resolvePipelinePath(pipelineArg);
  const loaded = loadPipelineFile(path);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return 1;
  }
  const target: PipelineTarget = { pipeline: loaded.pipeline, hash: loaded.hash, file: path };
  const dir = options.scenarios ? resolve(options.scenarios) : defaultScenarioDir(path, loaded.pipeline.name);
  const files = listScenarioFiles(dir);
  if (files.length > 0 && options.mutate) return mutateCommand(target, dir, options, io);
  if (files.length === 0) {
    io.err(
      `no scenarios for pipeline "${loaded.pipeline.name}": no .yml files in ${displayPath(dir)}; write one there (see docs/gates.md#scenario-tests), or pass --scenarios DIR`,
    );
    return 1;
  }
  const count = plural(files.length, "scenario");
  io.out(`atomic-scrum test · ${loaded.pipeline.name} · ${count} in ${displayPath(dir)}`);
  io.out("");
  let passed = 0;
  for (const file of files) {
    if (await testOne(file, target, io)) passed++;
  }
  const failed = files.length - passed;
  io.out("");
  io.out(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

/** Loads, runs and checks one scenario, printing its result; true when it passed. */
async function testOne(file: string, target: PipelineTarget, io: Io): Promise<boolean> {
  const loaded = loadScenario(file, target.pipeline);
  if (!loaded.ok) {
    io.out(`✗ ${displayPath(file)}: the scenario file has problems`);
    for (const problem of loaded.problems) io.out(`${INDENT}${formatProblem(problem)}`);
    return false;
  }
  const { scenario } = loaded;
  let observed: Observation;
  try {
    observed = await runScenario(scenario, target);
  } catch (error) {
    io.out(`✗ ${scenario.name}: could not run: ${(error as Error).message}`);
    return false;
  }
  const attempts = [...observed.phases.values()].reduce((sum, list) => sum + list.length, 0);
  const seconds = (observed.ms / 1000).toFixed(1);
  const figures = `(${plural(observed.phases.size, "phase")}, ${plural(attempts, "attempt")}, ${seconds} s)`;
  const differences = compareScenario(scenario, observed);
  if (differences.length === 0) {
    io.out(`✓ ${scenario.name} ${figures}`);
    return true;
  }
  io.out(`✗ ${scenario.name} ${figures}`);
  for (const line of differences) io.out(`${INDENT}${line}`);
  io.out(`${INDENT}what the run did:`);
  for (const line of describeRun(observed)) io.out(`${INDENT}  ${line}`);
  return false;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
