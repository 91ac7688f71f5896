import { resolve } from "node:path";
import { type LoadResult, loadPipelineFile } from "../pipeline/load-pipeline.js";
import { readYamlConfig } from "../pipeline/parse-config.js";
import { formatProblem } from "../pipeline/problem.js";
import { ServerSettingsSchema } from "../providers/settings.js";
import { checkRepoConfigFile } from "./check-repo-config-file.js";
import type { Io } from "./commands.js";
import { validateTargets } from "./validate-targets.js";

export interface ValidateOptions {
  /** Files to check as the repository config, wherever they are (`--config`). */
  config?: string[];
  /** A server settings file to check (`--settings`), as `run --settings` and `serve` read it. */
  settings?: string;
}

/**
 * `atomic-scrum validate [paths...] [--config FILE]`: pipeline files, folders of them and the
 * repository config. 0 when everything checked is valid, 1 otherwise. Each file is checked once,
 * however many ways it was named (a folder, and the config that points at it).
 */
export function validateCommand(paths: string[], io: Io, options: ValidateOptions = {}): number {
  const configs = options.config ?? [];
  if (paths.length === 0 && configs.length === 0 && !options.settings) {
    io.err("name a pipeline file, a folder of pipelines, or --config .github/atomic-scrum.yml");
    return 1;
  }
  const { targets, skipped, errors } = validateTargets(paths, configs);
  for (const { path, why } of skipped) io.out(`skipped ${path}: ${why}`);
  let problems = errors.length;
  for (const line of errors) io.err(line);
  if (options.settings) {
    const settings = readYamlConfig(options.settings, ServerSettingsSchema);
    if (settings.ok) io.out(`${options.settings}: ok (server settings)`);
    else for (const problem of settings.problems) io.err(formatProblem(problem));
    problems += settings.ok ? 0 : settings.problems.length;
  }
  const done = new Set<string>();
  const pipeline = (file: string) => {
    if (done.has(resolve(file))) return;
    done.add(resolve(file));
    problems += report(file, loadPipelineFile(file), io);
  };
  for (const target of targets) {
    if (target.kind === "pipeline") {
      pipeline(target.file);
      continue;
    }
    if (done.has(resolve(target.file))) continue;
    done.add(resolve(target.file));
    const check = checkRepoConfigFile(target.file);
    for (const problem of check.problems) io.err(formatProblem(problem));
    problems += check.problems.length;
    if (check.problems.length === 0) {
      const labels = check.labels.map(({ label, pipeline }) => `${label} → ${pipeline}`).join(", ");
      io.out(`${target.file}: ok (repository config; ${labels || "no labels"})`);
    }
    for (const file of check.pipelineFiles) pipeline(file);
  }
  if (problems > 0) io.err(`${problems} problem(s) found`);
  return problems > 0 ? 1 : 0;
}

function report(file: string, result: LoadResult, io: Io): number {
  if (result.ok) {
    io.out(`${file}: ok (${result.pipeline.phases.length} phases)`);
    return 0;
  }
  for (const problem of result.problems) io.err(formatProblem(problem));
  return result.problems.length;
}
