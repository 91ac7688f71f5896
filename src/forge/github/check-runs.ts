import { fitText } from "../../render/fit-text.js";
import type { CheckInput, CheckResult, FindCheckInput, FoundCheck } from "../forge.js";
import { callGitHub } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/** GitHub refuses a check run's output summary past 65,535 characters ("Maximum length"). */
const SUMMARY_LIMIT = 65_535;
/** No documented maximum; the title is one line in the checks list, so keep it short. */
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
      // A create answered 502 may have made the check: a re-send would make a second. The worker
      // finds it by name, commit and external_id next time instead (issue 11, class 13).
      request: { retries: 0 },
    }),
  );
  return { id: String(data.id) };
}

/**
 * This run's newest check named `name` on the commit: written by this app (when its id is known)
 * with the run id as `external_id`. One request; only made after a create whose answer was lost.
 */
export async function findCheck(gh: GitHubRepo, input: FindCheckInput): Promise<FoundCheck | undefined> {
  const { data } = await callGitHub(`looking for check "${input.name}"`, () =>
    gh.octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
      owner: gh.owner,
      repo: gh.repo,
      ref: input.headSha,
      check_name: input.name,
      filter: "all",
      per_page: 100,
    }),
  );
  const ours = data.check_runs.filter(
    (run) =>
      run.name === input.name &&
      run.external_id === input.runId &&
      (gh.appId === undefined || run.app?.id === gh.appId),
  );
  const newest = ours.sort((a, b) => Number(b.id) - Number(a.id))[0];
  return newest ? { id: String(newest.id), completed: newest.status === "completed" } : undefined;
}

/** Cut at a grapheme boundary, counted in code points as GitHub counts (class 14). */
const clip = fitText;
