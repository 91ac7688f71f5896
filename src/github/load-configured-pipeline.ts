import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { parse } from "yaml";
import { builtinPipelineNames, resolvePipelinePath } from "../local/builtin.js";
import { loadPipelineFile, loadPipelineText } from "../pipeline/load-pipeline.js";
import type { Problem } from "../pipeline/problem.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { suggest } from "../pipeline/template-variables.js";
import type { Octokit } from "./octokit.js";
import { readRepoFile } from "./read-repo-file.js";

export type ConfiguredPipeline =
  | { ok: true; pipeline: ResolvedPipeline; hash: string; path: string }
  | { ok: false; problems: Problem[]; version: string };

/** Same rule as the loader: a prompt that is one word ending in one of these is a file. */
const PROMPT_FILE = /^[^\s{}]+\.(md|txt|liquid)$/;

/**
 * Loads the pipeline a label maps to: a built-in by name, or a `.yml` in the repository (read
 * from the default branch with the prompt files it names). A repository path never reaches the
 * server's own disk: the file and its prompts are written to a fresh temp folder first.
 */
export async function loadConfiguredPipeline(
  octokit: Octokit,
  repo: { owner: string; repo: string; ref: string },
  nameOrPath: string,
  /** Where the label's entry sits in the repository config, for problems about the entry itself. */
  entry: Omit<Problem, "message">,
): Promise<ConfiguredPipeline> {
  const builtins = builtinPipelineNames();
  if (builtins.includes(nameOrPath)) {
    const result = loadPipelineFile(resolvePipelinePath(nameOrPath));
    if (result.ok) return { ok: true, pipeline: result.pipeline, hash: result.hash, path: nameOrPath };
    return { ok: false, problems: result.problems, version: `builtin-${nameOrPath}` };
  }
  if (!/\.ya?ml$/i.test(nameOrPath)) {
    return problem(
      entry,
      `unknown pipeline "${nameOrPath}": built-in pipelines are ${builtins.join(", ")}${suggest(nameOrPath, builtins)}; or give the repository path to a .yml file`,
    );
  }
  const path = posix.normalize(nameOrPath.replace(/^\/+/, ""));
  if (path.startsWith(".."))
    return problem(entry, `pipeline path "${nameOrPath}" must be inside the repository`);
  const file = await readRepoFile(octokit, { ...repo, path });
  if (!file) return problem(entry, `pipeline file "${path}" not found on ${repo.ref}`);
  return loadFromRepo(octokit, repo, path, file);
}

async function loadFromRepo(
  octokit: Octokit,
  repo: { owner: string; repo: string; ref: string },
  path: string,
  file: { text: string; sha: string },
): Promise<ConfiguredPipeline> {
  const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-pipeline-"));
  try {
    const local = join(dir, path);
    mkdirSync(join(local, ".."), { recursive: true });
    writeFileSync(local, file.text);
    for (const prompt of promptFiles(file.text)) {
      const promptPath = posix.normalize(posix.join(posix.dirname(path), prompt));
      const base = posix.dirname(path);
      // Outside the pipeline's folder: the loader reports it; fetch nothing.
      if (promptPath.startsWith("..") || (base !== "." && !promptPath.startsWith(`${base}/`))) continue;
      const promptFile = await readRepoFile(octokit, { ...repo, path: promptPath });
      if (!promptFile) continue;
      mkdirSync(join(dir, promptPath, ".."), { recursive: true });
      writeFileSync(join(dir, promptPath), promptFile.text);
    }
    const result = loadPipelineText(file.text, local);
    if (result.ok) return { ok: true, pipeline: result.pipeline, hash: result.hash, path };
    const problems = result.problems.map((p) => ({
      ...p,
      file: p.file.startsWith(`${dir}/`) ? p.file.slice(dir.length + 1) : p.file,
      message: p.message.replaceAll(`${dir}/`, ""),
    }));
    return { ok: false, problems, version: file.sha };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prompt file names a pipeline refers to; a text that does not parse names none. */
function promptFiles(text: string): string[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return [];
  }
  const phases = (raw as { phases?: unknown } | null)?.phases;
  if (!Array.isArray(phases)) return [];
  return phases
    .map((phase) => (phase as { prompt?: unknown } | null)?.prompt)
    .filter((prompt): prompt is string => typeof prompt === "string" && PROMPT_FILE.test(prompt.trim()))
    .map((prompt) => prompt.trim());
}

function problem(entry: Omit<Problem, "message">, message: string): ConfiguredPipeline {
  return { ok: false, problems: [{ ...entry, message }], version: message };
}
