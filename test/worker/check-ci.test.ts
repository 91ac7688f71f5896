import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { getRun, listEvents } from "../../src/store/runs.js";
import { CI_LINE_LIMIT, CI_LINES_LIMIT, ciSummary } from "../../src/worker/check-ci.js";
import { manualClock, openApp, SMALL_PIPELINE, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

const WITH_CHECKS = SMALL_PIPELINE.replace(
  '      - assert: { type: paths, value: ["src/**", "test/**"] }\n',
  '      - assert: { type: paths, value: ["src/**", "test/**"] }\n      - checks: { names: [test] }\n',
);

describe("the checks gate outside GitHub", () => {
  it("passes as skipped on a local repository, and the phase comment says so", async () => {
    expect(WITH_CHECKS).toContain("- checks:");
    const repo = tempRepo();
    const app = openApp(repo, { provider: createSimulatedProvider(), now: manualClock().now });
    const run = start(app, WITH_CHECKS);
    await app.worker.runUntilIdle();
    expect(getRun(app.db, run.id)?.state.status).toBe("awaiting_approval");
    const comment = readFileSync(join(app.runsDir, run.id, "comments", "02-implement.md"), "utf8");
    expect(comment).toContain("- ✅ `checks`: skipped: no CI outside GitHub");
    const events = listEvents(app.db, run.id).map((e) => e.type);
    expect(events).toContain("ci.completed");
    expect(events).not.toContain("ci.pending");
    app.close();
  });
});

describe("the summary of failing checks an agent is told", () => {
  it("keeps other apps' text to a few short lines, one per check", () => {
    const failing = Array.from({ length: 15 }, (_, i) => ({
      name: `job-${i}`,
      conclusion: "failure",
      title: `line one\nline two ${"x".repeat(500)}`,
    }));
    const lines = ciSummary({ state: "failed", failing, pending: [], counted: 15 });
    expect(lines).toHaveLength(CI_LINES_LIMIT);
    expect(lines.every((line) => line.length <= CI_LINE_LIMIT && !line.includes("\n"))).toBe(true);
    expect(lines[0]).toMatch(/^job-0: failure: line one line two x+\.\.\.$/);
    expect(lines.at(-1)).toBe("and 6 more");
  });

  it("names unfinished checks only when the gate timed out", () => {
    const status = {
      state: "pending" as const,
      failing: [{ name: "lint", conclusion: "failure" }],
      pending: ["test (queued)"],
      counted: 2,
    };
    expect(ciSummary(status)).toEqual(["lint: failure"]);
    expect(ciSummary(status, "30m")).toEqual(["lint: failure", "test (queued): still running after 30m"]);
  });
});
