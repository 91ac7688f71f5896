import { existsSync } from "node:fs";
import { basename, dirname, join, posix, relative, resolve } from "node:path";
import { configEntry, parseRepoConfig } from "../github/repo-config.js";
import type { Problem } from "../pipeline/problem.js";
import { readInputFile } from "../pipeline/read-input.js";
import { suggest } from "../pipeline/template-variables.js";
import { parseYamlInput } from "../pipeline/yaml-input.js";
import { builtinPipelineNames } from "./builtin.js";

/** What checking a repository config found: its own problems and the pipeline files it names. */
export interface RepoConfigCheck {
  problems: Problem[];
  /** Label -> what it starts, for the summary line. */
  labels: { label: string; pipeline: string }[];
  /** Pipeline files in the repository the labels name, to be validated as pipelines. */
  pipelineFiles: string[];
}

/**
 * Checks a `.github/atomic-scrum.yml` the way the app reads it (the same zod schema, the same
 * located problems), and what it refers to: each label's pipeline is a built-in name, or a
 * `.yml` path in the repository that exists. The repository is the folder that holds `.github/`;
 * a config elsewhere (`--config FILE`) is read against the current directory.
 */
export function checkRepoConfigFile(file: string): RepoConfigCheck {
  const read = readInputFile(file);
  if (!read.ok) return { problems: [read.problem], labels: [], pipelineFiles: [] };
  const parsed = parseRepoConfig(read.text, file);
  // A config with problems elsewhere still has its labels checked, so all come at once.
  const pipelines = parsed.ok ? parsed.config.pipelines : labelsOf(read.text, file);
  const github = dirname(resolve(file));
  const root = basename(github) === ".github" ? relative(".", dirname(github)) || "." : ".";
  const builtins = builtinPipelineNames();
  const out: RepoConfigCheck = { problems: parsed.ok ? [] : parsed.problems, labels: [], pipelineFiles: [] };
  for (const [label, pipeline] of Object.entries(pipelines)) {
    out.labels.push({ label, pipeline });
    if (builtins.includes(pipeline)) continue;
    const refer = (message: string) =>
      out.problems.push({ ...configEntry(read.text, ["pipelines", label], file), message });
    if (!/\.ya?ml$/i.test(pipeline)) {
      refer(
        `unknown pipeline "${pipeline}": built-in pipelines are ${builtins.join(", ")}${suggest(pipeline, builtins)}; or give the repository path to a .yml file`,
      );
      continue;
    }
    // As the app reads it (load-configured-pipeline.ts): a path from the repository's root.
    const path = posix.normalize(pipeline.replace(/^\/+/, ""));
    if (path.startsWith("..")) {
      refer(`pipeline path "${pipeline}" must be inside the repository`);
      continue;
    }
    const local = join(root, path);
    if (!existsSync(local)) {
      refer(`pipeline file "${path}" not found (looked for ${local}): the label would start nothing`);
      continue;
    }
    if (!out.pipelineFiles.includes(local)) out.pipelineFiles.push(local);
  }
  out.problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return out;
}

/** The label -> pipeline entries of a config that did not validate, those that are text. */
function labelsOf(text: string, file: string): Record<string, string> {
  const input = parseYamlInput(text, file);
  const pipelines = input.ok ? (input.value as { pipelines?: unknown } | null)?.pipelines : undefined;
  if (!pipelines || typeof pipelines !== "object" || Array.isArray(pipelines)) return {};
  return Object.fromEntries(
    Object.entries(pipelines).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== "",
    ),
  );
}
