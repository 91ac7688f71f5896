import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { listRuns } from "../../src/store/runs.js";
import { runCli as cli, issueFile, runIdOf } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { git, tempDir, tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12, item 9: locally, one active run per (issue, pipeline). A second pipeline works the
// same issue on a branch that names it; a second run of the same pipeline is refused, saying what
// to do; a run is "replaced" only by a newer run of its own pipeline.

const NOTES = SMALL_PIPELINE.replace("name: small\n", "name: notes\n");
const judge = { grounded: { score: 0.9, reason: "fine" }, complete: { score: 0.9, reason: "fine" } };
const edit = (path: string) => JSON.stringify({ summary: `edit ${path}`, files: [{ path, content: "x\n" }] });

/** A pipeline whose implement writes outside its allowed paths, once: it fails, or hands off. */
function failing(name: string, exhausted: "fail" | "human") {
  const pipeline = tempFile(
    `${name}.yml`,
    SMALL_PIPELINE.replace(
      "name: small\n",
      `name: ${name}\ndefaults:\n  on_fail: { retries: 0, escalate: false, exhausted: ${exhausted} }\n`,
    ),
  );
  const fixtures = tempFile(
    "fixtures.json",
    JSON.stringify({
      research: [{ agent: "Research notes.", judge }],
      implement: [{ agent: edit("docs/x.md") }],
    }),
  );
  return { pipeline, recorded: ["--provider", "recorded", "--fixtures", fixtures] };
}

function statusOf(repo: string, id: string): string | undefined {
  const db = openDatabase(`${repo}/.git/atomic-scrum/atomic-scrum.db`);
  try {
    return listRuns(db).find((run) => run.id === id)?.state.status;
  } finally {
    db.close();
  }
}

describe("local runs: one active run per (issue, pipeline)", () => {
  it("a second pipeline works the same issue on a branch that names it; both complete", async () => {
    const repo = tempRepo();
    const first = await cli(
      "run",
      tempFile("small.yml", SMALL_PIPELINE),
      "--issue",
      issueFile(),
      "--repo",
      repo,
    );
    expect(first.code).toBe(0);
    const small = runIdOf(first.out);
    const second = await cli("run", tempFile("notes.yml", NOTES), "--issue", issueFile(), "--repo", repo);
    expect(second.err).toBe("");
    expect(second.code).toBe(0);
    const notes = runIdOf(second.out);
    expect(second.out).toContain("branch atomic-scrum/7-notes-trim-the-input at");
    expect(
      git(repo, "branch", "--list", "atomic-scrum/*")
        .split("\n")
        .map((b) => b.trim()),
    ).toEqual(["atomic-scrum/7-notes-trim-the-input", "atomic-scrum/7-trim-the-input"]);
    for (const id of [small, notes]) {
      const approved = await cli("approve", id, "--repo", repo);
      expect(approved.code).toBe(0);
      expect(statusOf(repo, id)).toBe("succeeded");
    }
  });

  it("a second run of the same pipeline is refused, naming the first and what to do", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("small.yml", SMALL_PIPELINE);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    const id = runIdOf(first.out);
    const again = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    expect(again.code).toBe(1);
    expect(again.err).toBe(
      `atomic-scrum: run ${id} of pipeline small is waiting for approval on issue #7 (branch atomic-scrum/7-trim-the-input); one run per issue and pipeline: approve it with \`atomic-scrum approve ${id} --repo ${repo}\`, or stop it with \`atomic-scrum cancel ${id} --repo ${repo}\` and start again`,
    );
  });

  it("a failed run is retried while another pipeline's run works the issue; a newer run of its own pipeline replaces it", async () => {
    const repo = tempRepo();
    const { pipeline, recorded } = failing("small", "fail");
    const failed = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded);
    expect(failed.code).toBe(1);
    const id = runIdOf(failed.out);
    const notes = await cli("run", tempFile("notes.yml", NOTES), "--issue", issueFile(), "--repo", repo);
    expect(notes.code).toBe(0);

    const retried = await cli("retry", id, "--repo", repo);
    expect(retried.err).not.toContain("replaced");
    expect(retried.code).toBe(1); // the recorded implement still writes outside its paths
    expect(retried.out).toContain(`↺ implement            sent back by`);

    const newer = runIdOf(
      (await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded)).out,
    );
    const refused = await cli("retry", id, "--repo", repo);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`run ${id} was replaced by ${newer}, a newer small run of issue #7`);
  });

  it("a run handed to a person gives way to a new run of its pipeline only", async () => {
    const repo = tempRepo();
    const { pipeline, recorded } = failing("small", "human");
    const handed = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded);
    const id = runIdOf(handed.out);
    expect(handed.out).toContain(`🙋 run ${id} needs a person`);
    // Another pipeline on the issue leaves it to its person.
    expect(
      (await cli("run", tempFile("notes.yml", NOTES), "--issue", issueFile(), "--repo", repo)).code,
    ).toBe(0);
    expect(statusOf(repo, id)).toBe("needs_human");
    // A new run of its own pipeline is what the person did about it: the old one is cancelled.
    const again = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded);
    expect(again.err).toBe("");
    const resumed = await cli("resume", id, "--repo", repo);
    expect(resumed.out).toContain(`run ${id} was cancelled by a new run on the issue`);
    expect(statusOf(repo, id)).toBe("cancelled");
  });
});

describe("a repository is one repository, whichever of its folders a command starts in", () => {
  it("a second run of a pipeline started from a subfolder (or a symlink to it) is refused, not put on the first run's branch", async () => {
    const repo = tempRepo();
    mkdirSync(join(repo, "src"));
    const link = join(tempDir(), "linked");
    symlinkSync(repo, link);
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const first = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    const id = runIdOf(first.out);
    for (const where of [join(repo, "src"), link]) {
      const again = await cli("run", pipeline, "--issue", issueFile(), "--repo", where);
      expect(again.code, where).toBe(1);
      expect(again.err).toContain(`run ${id} of pipeline small is waiting for approval on issue #7`);
    }
    // And an issue file without a number takes the number after #7 there too.
    const numberless = tempFile("n.md", "# Parse dates\n\nDates arrive in two formats.\n");
    const next = await cli("run", pipeline, "--issue", numberless, "--repo", join(repo, "src"));
    expect(next.out).toContain('issue #8 "Parse dates"');
  });
});
