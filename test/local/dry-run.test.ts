import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { initialState } from "../../src/engine/transition.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { type DryRunReport, dryRun, forecastRun, type PhaseModel } from "../../src/local/dry-run.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import type { Tier } from "../../src/pipeline/schema.js";
import { ANTHROPIC_DEFAULT_MODELS } from "../../src/providers/catalog.js";
import { loadServerSettings } from "../../src/providers/settings.js";
import { saveBreaker } from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { insertRun, listRuns, upsertAttempt } from "../../src/store/runs.js";
import { runCli as cli } from "../helpers/cli.js";
import { git, tempDir, tempFile, tempRepo } from "../helpers/temp.js";

// Every provider the registry hands out is replaced by one that records a call and refuses it, so
// a dry run that called a model would both fail and leave a trace.
const providers = vi.hoisted(() => ({ built: 0, calls: [] as string[] }));
vi.mock("../../src/providers/registry.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/providers/registry.js")>();
  return {
    ...real,
    createProviderRegistry: (options: Parameters<typeof real.createProviderRegistry>[0]) => {
      const registry = real.createProviderRegistry(options);
      return {
        ...registry,
        forChoice: (choice: Parameters<typeof registry.forChoice>[0]) => {
          const provider = registry.forChoice(choice);
          providers.built++;
          return {
            name: provider.name,
            modelFor: (tier: Tier) => provider.modelFor(tier),
            complete: async (request: { purpose: { kind: string } }) => {
              providers.calls.push(`${provider.name}: ${request.purpose.kind}`);
              throw new Error("a dry run must not call a model");
            },
          };
        },
      };
    },
  };
});

const REPO_FILES = {
  "README.md": "# Acme CLI\n\nA command-line tool that exports reports.\n",
  "src/export.ts":
    "export function exportJson(rows: unknown[]): string {\n  return JSON.stringify(rows);\n}\n",
  "package.json": '{ "name": "acme" }\n',
};

function issueFile(body = "Users want `acme export --format csv` next to the JSON export."): string {
  return tempFile("issue.md", `---\nnumber: 12\n---\n# Export reports as CSV\n\n${body}\n`);
}

/** The lines of one section of the printed report, from its heading to the next blank line. */
function section(out: string, heading: string): string[] {
  const lines = out.split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start < 0) throw new Error(`no section "${heading}" in:\n${out}`);
  const end = lines.findIndex((line, index) => index > start && line === "");
  return lines.slice(start, end < 0 ? undefined : end);
}

function builtin(name: string): ResolvedPipeline {
  const loaded = loadPipelineFile(resolvePipelinePath(name));
  if (!loaded.ok) throw new Error(`${name} does not load`);
  return loaded.pipeline;
}

function report(repo: string, pipeline: ResolvedPipeline, dbPath?: string): Promise<DryRunReport> {
  return dryRun({
    pipeline,
    issue: {
      number: 12,
      title: "Export reports as CSV",
      body: "CSV please.",
      labels: [],
      author: "a",
      url: "",
    },
    repoDir: repo,
    ...(dbPath ? { dbPath } : {}),
    provider: "simulated",
    settings: loadServerSettings(undefined),
    now: Date.UTC(2026, 10, 23, 12),
  });
}

/** A database with one run whose `phase` failed `failed` times at `tier`, then passed, on anthropic's model for the tier. */
function historyDb(pipeline: ResolvedPipeline, phase: string, tier: Tier, failed: number): string {
  const path = join(tempDir(), "history.db");
  const db = openDatabase(path);
  const issue = { number: 3, title: "t", body: "", labels: [], author: "a", url: "" };
  insertRun(db, {
    id: "run-3-abcdef",
    pipelineName: pipeline.name,
    pipelineHash: "h",
    pipeline,
    repo: { owner: "local", name: "repo", defaultBranch: "main" },
    issue,
    branch: "atomic-scrum/3-t",
    state: initialState(),
    createdAt: 1,
  });
  for (let attempt = 1; attempt <= failed + 1; attempt++) {
    const state = attempt <= failed ? "failed" : "passed";
    const on = { provider: "anthropic", model: ANTHROPIC_DEFAULT_MODELS[tier] };
    upsertAttempt(db, { runId: "run-3-abcdef", phaseId: phase, attempt }, { tier, state, ...on });
  }
  db.close();
  return path;
}

describe("atomic-scrum run --dry-run", () => {
  it.each(["coding", "content"])(
    "prints the %s pipeline's prompts, gaps and forecast, calls no model and starts no run",
    async (name) => {
      const repo = tempRepo(REPO_FILES);
      const built = providers.built;
      const result = await cli("run", name, "--issue", issueFile(), "--repo", repo, "--dry-run");
      expect(result.err).toBe("");
      expect(result.code).toBe(0);
      expect(result.out).toContain(`atomic-scrum · ${name} · dry run on issue #12 "Export reports as CSV"`);
      expect(result.out).toContain("every prompt, artifact path and rubric renders");
      expect(section(result.out, "Gaps in the intent spec")[0]).toMatch(/warning\(s\)|none/);
      const forecast = section(result.out, "Forecast, priced on anthropic");
      expect(forecast[0]).toContain("balanced claude-sonnet-5-5, deep claude-opus-5-5");
      expect(forecast.find((line) => line.startsWith("  run: median $"))).toBeDefined();
      // Repository files are read from HEAD: the coding pipeline reads src/**, content only docs.
      if (name === "coding") expect(result.out).toMatch(/requirements +balanced +\d+ +\d+ \(3 file\(s\)\)/);
      // The registry was asked for prices and tier models, and nothing it built was called.
      expect(providers.built).toBeGreaterThan(built);
      expect(providers.calls).toEqual([]);
      // Nothing was written: no database, no run folder, no branch.
      expect(existsSync(join(repo, ".git", "atomic-scrum"))).toBe(false);
      expect(git(repo, "branch", "--format=%(refname:short)")).toBe("main");
    },
  );

  it("reports each kind of gap of a planted pipeline with its phase and field", async () => {
    const repo = tempRepo(REPO_FILES);
    const result = await cli(
      "run",
      tempFile("planted.yml", PLANTED),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--dry-run",
    );
    expect(result.code).toBe(0);
    const gaps = section(result.out, "Gaps in the intent spec");
    const located = gaps
      .slice(1)
      .filter((line) => /^ {2}(warning|note)/.test(line))
      .map((line) => line.trim().split(/\s+/).slice(0, 4).join(" "));
    expect(located).toEqual([
      "warning unread-output research research.output",
      "warning untold-assert research research.gates[0].assert",
      "warning no-gate outline outline.gates",
      "warning judge-cannot-fail review review.gates[0].judge.threshold",
      "warning vague-rubric review review.gates[0].judge.criteria[0].rubric",
      "warning vague-rubric review review.gates[0].judge.criteria[1].rubric",
      "note criterion-cannot-fail draft draft.gates[0].judge.criteria[1].weight",
      "warning unpassable-gate post post.gates[1].assert",
      "warning untold-assert post post.gates[0].assert",
      "warning untold-assert post post.gates[1].assert",
      "warning unreachable translate post.gates[1].assert",
      "warning unreachable human-review post.gates[1].assert",
    ]);
    // The forecast knows the run cannot get past the unpassable phase.
    expect(result.out).toMatch(/post +[\d,]+ +0 +100% unpassable/);
    expect(result.out).toContain("0% reach the end, 100% fail at a gate");
  });

  it("reports the phases a budget cannot reach, at the budget's field", async () => {
    const repo = tempRepo(REPO_FILES);
    const tight = `
name: tight
budget: { max_tokens: 3000 }
phases:
  - id: notes
    task: write
    prompt: "Notes on {{ issue.title }}"
    gates: [{ assert: { type: no-placeholders } }]
  - id: article
    task: write
    prompt: "Write it up: {{ phases.notes.output }}"
    gates: [{ assert: { type: no-placeholders } }]
`;
    const result = await cli(
      "run",
      tempFile("t.yml", tight),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--dry-run",
    );
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/warning +unreachable +article +budget\.max_tokens/);
    expect(result.out).toContain("100% stop at the budget");
  });

  it("counts a judge's calls as criteria times samples, priced on the provider and model it names", async () => {
    const repo = tempRepo(REPO_FILES);
    const judged = `
name: judged
phases:
  - id: notes
    task: write
    prompt: "Notes on {{ issue.title }}"
    gates:
      - judge:
          threshold: 0.5
          samples: 3
          provider: gemini
          criteria:
            - { name: clear, weight: 1, rubric: "A newcomer can follow every step without help." }
            - { name: short, weight: 1, rubric: "No sentence says what another already said." }
`;
    const dry = () =>
      cli("run", tempFile("j.yml", judged), "--issue", issueFile(), "--repo", repo, "--dry-run");
    // The judge calls gemini even on a simulated run: without its key the run would be refused.
    vi.stubEnv("GEMINI_API_KEY", "");
    vi.stubEnv("GOOGLE_API_KEY", "");
    const keyless = await dry();
    expect(keyless.code).toBe(1);
    expect(keyless.out).toContain(
      "  - no API key for gemini (the judge of phase notes): set GEMINI_API_KEY or GOOGLE_API_KEY",
    );
    expect(keyless.err).toContain('1 setup problem(s) would refuse this run; see "Setup" above');
    vi.stubEnv("GEMINI_API_KEY", "test-key");
    const result = await dry();
    vi.unstubAllEnvs();
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /notes +balanced +\d+ +\d+ +\d+ +2,000 +6 on deep \(gemini\/gemini-3\.1-pro-preview\)/,
    );
    const pipeline = loadPipelineFile(tempFile("j2.yml", judged));
    if (!pipeline.ok) throw new Error("setup");
    const once = pipeline.pipeline.phases[0];
    if (once?.kind !== "agent" || !once.gates[0] || !("judge" in once.gates[0])) throw new Error("setup");
    const three = (await report(repo, pipeline.pipeline)).forecast.cheapest.costUsd;
    once.gates[0].judge.samples = 1;
    const one = (await report(repo, pipeline.pipeline)).forecast.cheapest.costUsd;
    expect(three).toBeGreaterThan(one);
  });

  it("prices the settings file's models, and names one it cannot price", async () => {
    const repo = tempRepo(REPO_FILES);
    const settings = tempFile(
      "settings.yml",
      "providers:\n  anthropic:\n    models: { deep: claude-in-house, balanced: claude-tuned }\nprices:\n  claude-tuned: { input: 1, output: 2 }\n",
    );
    const args = ["--issue", issueFile(), "--repo", repo, "--dry-run", "--provider", "anthropic"];
    vi.stubEnv("ANTHROPIC_API_KEY", "");
    const result = await cli("run", "coding", ...args, "--settings", settings);
    vi.unstubAllEnvs();
    // What the real run would be refused for comes first, every problem at once.
    expect(result.code).toBe(1);
    expect(section(result.out, "Setup")).toEqual([
      "Setup: 2 problem(s) would refuse this run before it is created:",
      "  - no API key for anthropic (the run's provider): set ANTHROPIC_API_KEY",
      "  - no price for anthropic/claude-in-house (at deep: phase(s) requirements, implement, code-review, fix, tests, security-audit; the judge(s) of implement, code-review, fix, tests, security-audit), and the pipeline's budget.max_cost_usd cannot be checked without one: add `claude-in-house: { input: <USD per million>, output: <USD per million> }` under `prices:` in the settings file, or `claude-in-house: { input: 0, output: 0 }` to mark it free",
    ]);
    expect(result.out).toContain(
      "Forecast, priced on anthropic: fast claude-haiku-5-5, balanced claude-tuned, deep claude-in-house",
    );
    expect(result.out).toContain("no price for anthropic/claude-in-house: counted as $0");
    expect(result.out).toContain(
      "with budget.max_cost_usd set, a run stops before its first call to a model",
    );
  });

  it("is deterministic: the same inputs print the same report", async () => {
    const repo = tempRepo(REPO_FILES);
    const issue = issueFile();
    const first = await cli("run", "coding", "--issue", issue, "--repo", repo, "--dry-run");
    const second = await cli("run", "coding", "--issue", issue, "--repo", repo, "--dry-run");
    expect(second.out).toBe(first.out);
  });

  it("uses the failure rates the database has seen, and more failures forecast more cost", async () => {
    const repo = tempRepo(REPO_FILES);
    const coding = builtin("coding");
    const fresh = await report(repo, coding);
    const rough = await report(repo, coding, historyDb(coding, "implement", "balanced", 4));
    const rate = rough.rates.find((row) => row.task === "code" && row.tier === "balanced");
    // (4 failed + 2 x 25% default) / (5 graded + 2)
    expect(rate).toMatchObject({ source: "observed", graded: 5, failed: 4 });
    expect(rate?.rate).toBeCloseTo(4.5 / 7, 6);
    expect(fresh.rates.find((row) => row.task === "code" && row.tier === "balanced")?.source).toBe("default");
    for (const forecast of [fresh.forecast, rough.forecast]) {
      expect(forecast.p90.costUsd).toBeGreaterThanOrEqual(forecast.median.costUsd);
      expect(forecast.median.costUsd).toBeGreaterThanOrEqual(forecast.cheapest.costUsd);
    }
    expect(rough.forecast.median.costUsd).toBeGreaterThan(fresh.forecast.median.costUsd);
    expect(rough.forecast.p90.costUsd).toBeGreaterThan(fresh.forecast.p90.costUsd);
    const passes = await report(repo, coding, historyDb(coding, "implement", "balanced", 0));
    expect(passes.forecast.median.costUsd).toBeLessThanOrEqual(fresh.forecast.median.costUsd);
  });

  it("prints where the rates come from when the database has attempts, and leaves the file as it was", async () => {
    const repo = tempRepo(REPO_FILES);
    const db = historyDb(builtin("content"), "draft", "balanced", 2);
    const before = readFileSync(db);
    const result = await cli(
      "run",
      "content",
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--db",
      db,
      "--dry-run",
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain(`history from ${db}; 3 graded attempt(s), 3 of them on the models below`);
    expect(result.out).toMatch(
      /write +balanced +3 +2 +50% +observed on anthropic\/claude-sonnet-5-5 \(2 of 3 failed\), blended with 2 default attempts/,
    );
    expect(readFileSync(db).equals(before)).toBe(true);
    const opened = openDatabase(db);
    expect(listRuns(opened)).toHaveLength(1);
    opened.close();
  });

  it("starts a phase above a tier whose breaker is open, as the worker would", async () => {
    const repo = tempRepo(REPO_FILES);
    const content = builtin("content");
    const path = historyDb(content, "draft", "balanced", 0);
    const db = openDatabase(path);
    const now = Date.UTC(2026, 10, 23, 12);
    const open = { state: "open" as const, failures: [now - 1000], openedAt: now - 1000 };
    const fast = {
      provider: "anthropic",
      model: "claude-haiku-5-5",
      task: "mechanical" as const,
      tier: "fast" as const,
    };
    // The simulated provider's breaker says nothing about anthropic's: the phase stays at fast.
    saveBreaker(db, { ...fast, provider: "simulated", model: "simulated-fast" }, open, now);
    db.close();
    const unmoved = await report(repo, content, path);
    expect(unmoved.phases.find((p) => p.id === "mechanical-revision")).toMatchObject({ tier: "fast" });
    const again = openDatabase(path);
    saveBreaker(again, fast, open, now);
    again.close();
    const routed = await report(repo, content, path);
    const phase = routed.phases.find((p) => p.id === "mechanical-revision");
    expect(phase).toMatchObject({ kind: "agent", tier: "balanced", routedFrom: "fast" });
  });

  it("exits 1 on a rendered prompt that would stop the run: a rubric showing through", async () => {
    const repo = tempRepo(REPO_FILES);
    // The issue quotes six words of a coding rubric: the worker would abort the run (holdout).
    const leaky = issueFile(
      "Please make sure the change keeps naming, module layout, error style and formatting.",
    );
    const result = await cli("run", "coding", "--issue", leaky, "--repo", repo, "--dry-run");
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'problem: requirements.prompt: holdout violated: the issue body, quoted in the prompt of phase "requirements", contains the rubric of implement: fits the codebase and stays in scope; the run would stop here',
    );
    expect(result.err).toContain("would stop this run");
  });

  it("exits 0 on a repository whose docs quote a rubric, naming the file it leaves out for holdout", async () => {
    const repo = tempRepo({
      ...REPO_FILES,
      "docs/notes.md":
        "# Notes\n\nThe reviewer wants naming, module layout, error style and formatting kept.\n",
    });
    const result = await cli("run", "coding", "--issue", issueFile(), "--repo", repo, "--dry-run");
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    const prompts = section(result.out, "Prompts");
    expect(prompts).toContain(
      "  requirements: left out for holdout: docs/notes.md (contains the rubric of implement: fits the codebase and stays in scope)",
    );
    // Only the requirements phase reads docs/*.md; its context counts the file as left out.
    expect(prompts.find((line) => line.startsWith("  requirements "))).toContain("(3 file(s), 1 left out)");
    expect(prompts.filter((line) => line.includes("left out for holdout"))).toHaveLength(1);
  });

  it.each([
    [
      "zero-width spaces",
      "kee\u200bps nam\u200bing, mod\u200bule lay\u200bout, err\u200bor style and form\u200batting",
    ],
    [
      "Cyrillic letters",
      "k\u0435\u0435ps naming, m\u043edule lay\u043eut, \u0435rr\u043er style \u0430nd f\u043ermatting",
    ],
    [
      "fullwidth letters",
      "ｋｅｅｐｓ ｎａｍｉｎｇ， ｍｏｄｕｌｅ ｌａｙｏｕｔ， ｅｒｒｏｒ ｓｔｙｌｅ ａｎｄ ｆｏｒｍａｔｔｉｎｇ",
    ],
  ])(
    "exits 1 on a rubric quoted in the issue in disguise (%s), as the worker would stop",
    async (_name, quote) => {
      const repo = tempRepo(REPO_FILES);
      const leaky = issueFile(`Please make sure the change ${quote}.`);
      const result = await cli("run", "coding", "--issue", leaky, "--repo", repo, "--dry-run");
      expect(result.code).toBe(1);
      expect(result.out).toContain(
        'problem: requirements.prompt: holdout violated: the issue body, quoted in the prompt of phase "requirements", contains the rubric of implement: fits the codebase and stays in scope; the run would stop here',
      );
    },
  );

  it("exits 1 on a pipeline that does not validate or an issue file that does not load", async () => {
    const repo = tempRepo(REPO_FILES);
    const broken = tempFile(
      "b.yml",
      "name: b\nphases:\n  - id: a\n    task: write\n    prompt: '{{ issue.nope }}'\n",
    );
    const invalid = await cli("run", broken, "--issue", issueFile(), "--repo", repo, "--dry-run");
    expect(invalid.code).toBe(1);
    expect(invalid.err).toContain('undefined variable "issue.nope"');
    const missing = await cli("run", "coding", "--issue", join(repo, "none.md"), "--repo", repo, "--dry-run");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("cannot read issue file");
  });

  it("matches the example in docs/dry-run.md", async () => {
    const doc = readFileSync(new URL("../../docs/dry-run.md", import.meta.url), "utf8");
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    expect(yaml).toBe(PLANTED.replace(/^\n/, ""));
    const shown = /```text\n\$ atomic-scrum run [^\n]*\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const repo = tempRepo({ "README.md": "# Acme CLI\n\nA command-line tool that exports reports.\n" });
    const result = await cli(
      "run",
      tempFile("release-notes.yml", yaml),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      "--dry-run",
    );
    const gaps = (text: string) => section(text, "Gaps in the intent spec").join("\n");
    expect(gaps(result.out)).toBe(gaps(shown));
  });
});

describe("forecastRun", () => {
  const call = (costUsd: number) => ({ inTokens: 100, outTokens: 50, inCostUsd: costUsd / 3, costUsd });
  const phase = (failure: number, retries = 1): PhaseModel => ({
    id: "p",
    ladder: (["balanced", "deep"] as const).map((tier, step) => ({
      tier,
      failure,
      first: { calls: [call(step + 1)] },
      again: { calls: [call(step + 1)] },
    })),
    triesPerTier: 1 + retries,
    exhausted: "fail",
  });

  it("gives the same figures for the same seed, and p90 at or above the median", () => {
    const a = forecastRun([phase(0.3), phase(0.3)], {}, { runs: 2_000, seed: 7 });
    const b = forecastRun([phase(0.3), phase(0.3)], {}, { runs: 2_000, seed: 7 });
    expect(b).toEqual(a);
    expect(a.p90.costUsd).toBeGreaterThanOrEqual(a.median.costUsd);
    expect(a.cheapest.costUsd).toBe(2);
    // Every phase passes on its last attempt: two tries at balanced ($1), two at deep ($2).
    expect(a.dearest.costUsd).toBe(12);
  });

  it("forecasts more cost, retries and failed runs as the failure rate rises", () => {
    const rates = [0, 0.2, 0.5, 0.8];
    const forecasts = rates.map((rate) => forecastRun([phase(rate)], {}, { runs: 2_000, seed: 1 }));
    for (let i = 1; i < forecasts.length; i++) {
      const [before, after] = [forecasts[i - 1], forecasts[i]];
      expect(after?.p90.costUsd).toBeGreaterThanOrEqual(before?.p90.costUsd ?? 0);
      expect(after?.phases[0]?.meanTries).toBeGreaterThan(before?.phases[0]?.meanTries ?? 0);
      expect(after?.outcomes.failed).toBeGreaterThanOrEqual(before?.outcomes.failed ?? 0);
    }
    expect(forecasts[0]).toMatchObject({ median: { costUsd: 1 }, outcomes: { succeeded: 2_000 } });
    expect(forecasts[3]?.median.costUsd).toBeGreaterThan(1);
  });

  it("stops a run before a call whose input would pass the budget, as the worker does", () => {
    const forecast = forecastRun([phase(0), phase(0)], { maxCostUsd: 1.2 }, { runs: 10, seed: 1 });
    expect(forecast.outcomes.budget).toBe(10);
    expect(forecast.median.costUsd).toBe(1);
  });
});

const PLANTED = `
name: release-notes
phases:
  - id: research
    task: research
    prompt: "List what changed for users in this issue: {{ issue.title }} {{ issue.body }}"
    gates:
      - assert: { type: min-words, value: 80 }
  - id: outline
    task: write
    prompt: "Outline release notes for {{ issue.title }}."
  - id: review
    task: review
    prompt: "Point out what the outline misses: {{ phases.outline.output }}"
    gates:
      - judge:
          threshold: 0
          criteria:
            - { name: useful, weight: 1, rubric: "Useful." }
            - { name: grounded, weight: 1, rubric: "{{ phases.outline.output }}" }
  - id: draft
    task: write
    prompt: "Write release notes from this outline and review: {{ phases.outline.output }} {{ phases.review.output }}"
    gates:
      - judge:
          threshold: 0.75
          criteria:
            - name: accurate
              weight: 3
              rubric: "Claims nothing the outline does not support: {{ phases.outline.output }}"
            - { name: friendly, weight: 1, rubric: "Reads like a person talking to users, not a changelog." }
  - id: post
    task: mechanical
    prompt: "Cut these notes to one short post: {{ phases.draft.output }}"
    gates:
      - assert: { type: min-words, value: 40 }
      - assert: { type: max-words, value: 30 }
  - id: translate
    task: write
    prompt: "Translate into French: {{ phases.post.output }}"
    gates:
      - assert: { type: no-placeholders }
  - id: human-review
    approval: {}
`;
