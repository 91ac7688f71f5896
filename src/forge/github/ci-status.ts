import type { CiStatus, CiStatusInput } from "../forge.js";
import { callGitHub } from "./github-errors.js";
import type { GitHubRepo } from "./github-repo.js";

/** The names of this app's own check runs, when its id is unknown (src/render/check-runs.ts). */
const OWN_CHECK_PREFIX = "Atomic Scrum / ";
/** Conclusions that let a check pass: a skipped job or a neutral linter did not find fault. */
const PASSING = new Set(["success", "neutral", "skipped"]);
const PER_PAGE = 100;
/** 1,000 check runs on one commit is far past any CI we wait for; stop reading there. */
const MAX_PAGES = 10;

interface CheckRunJson {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  app: { id: number } | null;
  output: { title: string | null };
}

/**
 * The repository's CI on `sha`, from its check runs (one request, more only past 100 runs). Runs of
 * this app are left out: its own phase and approval checks are not CI. Check suites are not read:
 * a suite queued with no runs (an app that never acts on the commit) would hold the gate for ever.
 */
export async function ciStatus(gh: GitHubRepo, input: CiStatusInput): Promise<CiStatus> {
  const runs = newestOfEach((await listCheckRuns(gh, input.sha)).filter((run) => !isOwn(gh, run)));
  const counted = input.names ? runs.filter((run) => input.names?.includes(run.name)) : runs;
  const failing = counted
    .filter((run) => run.status === "completed" && !PASSING.has(run.conclusion ?? ""))
    .map((run) => ({
      name: run.name,
      conclusion: run.conclusion ?? "unknown",
      ...(run.output.title ? { title: run.output.title } : {}),
    }));
  const pending = [
    ...counted.filter((run) => run.status !== "completed").map((run) => `${run.name} (${run.status})`),
    // A named check may belong to a workflow that has not started yet: it is waited for.
    ...(input.names ?? [])
      .filter((name) => !runs.some((run) => run.name === name))
      .map((name) => `${name} (not started)`),
  ];
  const state =
    pending.length > 0 ? "pending" : failing.length > 0 ? "failed" : counted.length > 0 ? "passed" : "none";
  return { state, failing, pending, counted: counted.length };
}

/** A job re-run after a failure is a newer check run of the same app and name: only it counts. */
function newestOfEach(runs: CheckRunJson[]): CheckRunJson[] {
  const newest = new Map<string, CheckRunJson>();
  for (const run of runs) {
    const key = `${run.app?.id ?? ""}/${run.name}`;
    const known = newest.get(key);
    if (!known || run.id > known.id) newest.set(key, run);
  }
  return [...newest.values()];
}

function isOwn(gh: GitHubRepo, run: CheckRunJson): boolean {
  if (gh.appId !== undefined) return run.app?.id === gh.appId;
  return run.name.startsWith(OWN_CHECK_PREFIX);
}

async function listCheckRuns(gh: GitHubRepo, sha: string): Promise<CheckRunJson[]> {
  const runs: CheckRunJson[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { data } = await callGitHub(`reading the CI on ${sha.slice(0, 7)}`, () =>
      gh.octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
        owner: gh.owner,
        repo: gh.repo,
        ref: sha,
        per_page: PER_PAGE,
        ...(page > 1 ? { page } : {}),
      }),
    );
    runs.push(...(data.check_runs as CheckRunJson[]));
    if (data.check_runs.length < PER_PAGE || runs.length >= data.total_count) break;
  }
  return runs;
}
