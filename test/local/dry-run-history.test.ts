import { writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { dryRun, printDryRun } from "../../src/local/dry-run.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import { loadServerSettings } from "../../src/providers/settings.js";
import { openDatabase } from "../../src/store/database.js";
import { MIGRATIONS, migrate, schemaVersion } from "../../src/store/migrations.js";
import { insertRun, upsertAttempt } from "../../src/store/runs.js";
import { runCli } from "../helpers/cli.js";
import { captureIo } from "../helpers/io.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

// The dry run's failure rates for a provider read only that provider's and model's history:
// simulated and recorded runs that failed must not make a real run look dearer (issue 12, item 3).

function content(): ResolvedPipeline {
  const loaded = loadPipelineFile(resolvePipelinePath("content"));
  if (!loaded.ok) throw new Error("the built-in content pipeline does not load");
  return loaded.pipeline;
}

/** A database with one run per entry: `draft` (task write) graded at balanced on that provider and model. */
function history(
  pipeline: ResolvedPipeline,
  entries: { provider: string; model: string; failed: number; passed: number }[],
) {
  const path = join(tempDir(), "history.db");
  const db = openDatabase(path);
  for (const [index, entry] of entries.entries()) {
    const id = `run-${index + 1}-abcdef`;
    insertRun(db, {
      id,
      pipelineName: pipeline.name,
      pipelineHash: "h",
      pipeline,
      repo: { owner: "local", name: "repo", defaultBranch: "main" },
      issue: { number: index + 1, title: "t", body: "", labels: [], author: "a", url: "" },
      branch: `atomic-scrum/${index + 1}-t`,
      state: initialState(),
      createdAt: 1,
    });
    for (let attempt = 1; attempt <= entry.failed + entry.passed; attempt++) {
      const state = attempt <= entry.failed ? "failed" : "passed";
      const on = { provider: entry.provider, model: entry.model };
      upsertAttempt(db, { runId: id, phaseId: "draft", attempt }, { tier: "balanced", state, ...on });
    }
  }
  db.close();
  return path;
}

async function forecast(dbPath: string, provider = "anthropic") {
  const pipeline = content();
  const report = await dryRun({
    pipeline,
    issue: {
      number: 12,
      title: "Export reports as CSV",
      body: "CSV please.",
      labels: [],
      author: "a",
      url: "",
    },
    repoDir: tempRepo({ "README.md": "# Acme\n" }),
    dbPath,
    provider,
    settings: loadServerSettings(undefined),
    now: Date.UTC(2026, 10, 23, 12),
  });
  const io = captureIo();
  printDryRun(report, io);
  const rate = report.rates.find((row) => row.task === "write" && row.tier === "balanced");
  return { report, rate, out: io.stdout.join("\n") };
}

describe("the dry run's failure rates, per provider and model", () => {
  it("never count simulated or recorded attempts toward a real provider's rate, and say so", async () => {
    const pipeline = content();
    const path = history(pipeline, [
      { provider: "simulated", model: "simulated-balanced", failed: 6, passed: 1 },
      { provider: "recorded", model: "claude-sonnet-5-5", failed: 2, passed: 0 },
    ]);
    const { rate, out } = await forecast(path);
    expect(rate).toMatchObject({
      provider: "anthropic",
      model: "claude-sonnet-5-5",
      source: "default",
      graded: 0,
      rate: 0.25,
      others: 9,
    });
    expect(out).toContain(`history from ${path}; 9 graded attempt(s), 0 of them on the models below`);
    expect(out).toMatch(
      /write +balanced +0 +0 +25% +no history on anthropic\/claude-sonnet-5-5: the default rate; 9 attempt\(s\) on other providers or models not counted/,
    );
  });

  it("read the provider's own attempts on the model the tier maps to, not another model's", async () => {
    const pipeline = content();
    const path = history(pipeline, [
      { provider: "anthropic", model: "claude-sonnet-5-5", failed: 3, passed: 17 },
      { provider: "anthropic", model: "claude-sonnet-5", failed: 5, passed: 0 },
      { provider: "simulated", model: "simulated-balanced", failed: 4, passed: 0 },
    ]);
    const { rate, out, report } = await forecast(path);
    // (3 failed + 2 x 25% default) / (20 graded + 2)
    expect(rate).toMatchObject({ source: "observed", graded: 20, failed: 3, others: 9 });
    expect(rate?.rate).toBeCloseTo(3.5 / 22, 6);
    expect(out).toContain(
      "observed on anthropic/claude-sonnet-5-5 (3 of 20 failed), blended with 2 default attempts",
    );
    // The forecast table's FAIL/TRY cell of the phase is that rate.
    expect(report.phases.find((p) => p.id === "draft")).toMatchObject({
      rate: { model: "claude-sonnet-5-5" },
    });
    expect(out).toMatch(/draft +[\d,]+ +[\d,]+ +16% observed/);
  });

  it("forecast a simulated run on anthropic's history, never on the simulated runs'", async () => {
    const pipeline = content();
    const path = history(pipeline, [
      { provider: "simulated", model: "simulated-balanced", failed: 8, passed: 0 },
    ]);
    const { rate } = await forecast(path, "simulated");
    expect(rate).toMatchObject({ provider: "anthropic", source: "default", rate: 0.25, others: 8 });
  });
});

describe("the dry run on a database an older atomic-scrum wrote", () => {
  it("leaves it as it was: not migrated (its breakers kept), said so, even for an issue file without a number", async () => {
    const repo = tempRepo({ "README.md": "# Acme\n" });
    const path = join(tempDir(), "old.db");
    const old = new BetterSqlite3(path);
    migrate(old, MIGRATIONS.slice(0, 6));
    old
      .prepare(
        "INSERT INTO breakers (task, tier, state, failures, updated_at) VALUES ('write', 'balanced', 'closed', '[1]', 1)",
      )
      .run();
    old.close();
    const issue = join(tempDir(), "issue.md");
    writeFileSync(issue, "# Export reports as CSV\n\nCSV please.\n");
    const result = await runCli(
      "run",
      resolvePipelinePath("content"),
      "--issue",
      issue,
      "--repo",
      repo,
      "--db",
      path,
      "--dry-run",
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain(`${path} has schema version 6, not ${MIGRATIONS.length}: not read`);
    const after = new BetterSqlite3(path, { readonly: true });
    expect(schemaVersion(after)).toBe(6);
    expect(after.prepare("SELECT COUNT(*) AS n FROM breakers").get()).toEqual({ n: 1 });
    after.close();
  });
});
