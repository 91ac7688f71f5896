import type { Problem } from "../pipeline/problem.js";
import type { Octokit } from "./octokit.js";
import { readRepoFile } from "./read-repo-file.js";
import { CONFIG_PATH, defaultRepoConfig, parseRepoConfig, type RepoConfig } from "./repo-config.js";

export type LoadedRepoConfig =
  | { ok: true; config: RepoConfig; text: string }
  | { ok: false; problems: Problem[]; text: string; version: string };

/**
 * Reads `.github/atomic-scrum.yml` from the default branch and validates it. A repository without
 * the file gets the defaults. `version` (the blob SHA) changes exactly when the file does.
 */
export async function loadRepoConfig(
  octokit: Pick<Octokit, "request">,
  repo: { owner: string; repo: string; ref: string },
): Promise<LoadedRepoConfig> {
  const file = await readRepoFile(octokit, { ...repo, path: CONFIG_PATH });
  if (!file) return { ok: true, config: defaultRepoConfig(), text: "" };
  const result = parseRepoConfig(file.text);
  if (result.ok) return { ok: true, config: result.config, text: file.text };
  return { ok: false, problems: result.problems, text: file.text, version: file.sha };
}
