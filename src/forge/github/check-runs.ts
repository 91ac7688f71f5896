import type { CheckInput, CheckResult } from "../forge.js";
import { callGitHub } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/** GitHub refuses a check run's output summary past 65,535 characters. */
const SUMMARY_LIMIT = 60_000;
const TITLE_LIMIT = 200;

/**
 * Creates a check run, or updates the one `input.id` names. `external_id` carries the run id, so
 * a person (or a later tool) can tell which run wrote a check.
 */
export async function setCheck(gh: GitHubRepo, input: CheckInput): Promise<CheckResult> {
  const completed = input.status === "completed";
  const fields = {
    owner: gh.owner,
    repo: gh.repo,
    status: input.status,
    ...(completed ? { conclusion: input.conclusion ?? "neutral" } : {}),
    output: { title: clip(input.title, TITLE_LIMIT), summary: clip(input.summary, SUMMARY_LIMIT) },
  };
  if (input.id !== undefined) {
    const id = Number(input.id);
    await callGitHub(`updating check "${input.name}"`, () =>
      gh.octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
        ...fields,
        check_run_id: id,
      }),
    );
    return { id: input.id };
  }
  const { data } = await callGitHub(`creating check "${input.name}"`, () =>
    gh.octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      ...fields,
      name: input.name,
      head_sha: input.headSha,
      external_id: input.runId,
    }),
  );
  return { id: String(data.id) };
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
