import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/local/demo.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { openDatabase } from "../../src/store/database.js";
import { listEvents, listRuns } from "../../src/store/runs.js";
import { captureIo } from "../helpers/io.js";
import { git, tempDir } from "../helpers/temp.js";

function agentPhases(name: string): string[] {
  const loaded = loadPipelineFile(`pipelines/${name}.yml`);
  if (!loaded.ok) throw new Error(`${name}.yml does not load`);
  return loaded.pipeline.phases.filter((p) => p.kind === "agent").map((p) => p.id);
}

describe("npm run demo", () => {
  it("runs both built-in pipelines offline to the end, with a commit and a comment per agent phase", async () => {
    // A folder with a space, as a home folder can have: the commands the demo shows must paste.
    const dir = join(tempDir(), "my demo");
    const io = captureIo();
    const code = await runDemo(dir, io);
    expect(io.stderr).toEqual([]);
    expect(code).toBe(0);

    const repo = join(dir, "tinyfetch");
    const shown = io.stdout.filter((line) => /^\n?\$ atomic-scrum |^Done\./.test(line));
    expect(shown).toHaveLength(5);
    for (const line of shown) expect(line, line).toContain(`'${repo}'`);
    const db = openDatabase(join(repo, ".git", "atomic-scrum", "atomic-scrum.db"));
    const runs = listRuns(db);
    expect(runs.map((r) => [r.pipelineName, r.state.status]).sort()).toEqual([
      ["coding", "succeeded"],
      ["content", "succeeded"],
    ]);
    for (const run of runs) {
      const phases = agentPhases(run.pipelineName);
      const subjects = git(repo, "log", "--reverse", "--format=%b%x00", `main..${run.branch}`)
        .split("\0")
        .filter((b) => b.trim())
        .map((body) => /^Phase: (\S+)/m.exec(body)?.[1]);
      expect(subjects).toEqual(phases);
      const comments = readdirSync(join(repo, ".git", "atomic-scrum", "runs", run.id, "comments"));
      expect(comments.sort()).toEqual(phases.map((id, i) => `${String(i + 1).padStart(2, "0")}-${id}.md`));
      for (const comment of comments) {
        const body = readFileSync(
          join(repo, ".git", "atomic-scrum", "runs", run.id, "comments", comment),
          "utf8",
        );
        expect(body).toMatch(/Passed/);
      }
      expect(readFileSync(join(repo, ".git", "atomic-scrum", "runs", run.id, "status.md"), "utf8")).toContain(
        "the run is complete",
      );
      const types = listEvents(db, run.id).map((e) => e.type);
      expect(types).toContain("approval.granted");
      if (run.pipelineName === "content") {
        const elapsed = listEvents(db, run.id).find((e) => e.type === "wait.elapsed");
        expect(elapsed?.data).toEqual({ phaseId: "cooldown", fastForwarded: true });
      }
    }
    db.close();
    // The user's checkout is untouched: still on main, clean.
    expect(git(repo, "symbolic-ref", "--short", "HEAD")).toBe("main");
    expect(git(repo, "status", "--porcelain")).toBe("");
  });
});
