import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildGitHubApp } from "../../src/app.js";
import { resolvePipelinePath } from "../../src/local/builtin.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedPipeline } from "../../src/pipeline/resolved.js";
import { preflight, preflightMessage } from "../../src/providers/preflight.js";
import { ServerSettingsSchema } from "../../src/providers/settings.js";
import { openDatabase } from "../../src/store/database.js";
import { listRuns } from "../../src/store/runs.js";
import { INSTALLATION_ID, labeledPayload, OWNER, REPO } from "../github-app/harness.js";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { githubApi, requestLog } from "../helpers/github/api.js";
import { SMALL_PIPELINE } from "../helpers/local-run.js";
import { serveProbot } from "../helpers/probot-server.js";
import { git, tempDir, tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12, item 4: every setup mistake used to leave a dead run and an empty branch. What a run
// needs is checked before it is created, and every problem is told at once, naming what to set.

function pipeline(text: string): ResolvedPipeline {
  const loaded = loadPipelineFile(tempFile("p.yml", text));
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join("\n"));
  return loaded.pipeline;
}

const BUDGETED = SMALL_PIPELINE.replace("name: small\n", "name: small\nbudget: { max_cost_usd: 2 }\n");
const coding = () => {
  const loaded = loadPipelineFile(resolvePipelinePath("coding"));
  if (!loaded.ok) throw new Error("coding does not load");
  return loaded.pipeline;
};
const settings = (value: unknown = {}) => ServerSettingsSchema.parse(value);
/** The problems of a run of `text` on provider `name`. */
const check = (name: string, text: string, set = settings(), env: NodeJS.ProcessEnv = {}) =>
  preflight({ choice: { name }, pipeline: pipeline(text), settings: set, env });

describe("preflight", () => {
  it("finds nothing to stop an offline run, or a real one with its key and prices", () => {
    expect(
      preflight({ choice: { name: "simulated" }, pipeline: coding(), settings: settings(), env: {} }),
    ).toEqual([]);
    const env = { ANTHROPIC_API_KEY: "sk-test" };
    expect(
      preflight({ choice: { name: "anthropic" }, pipeline: coding(), settings: settings(), env }),
    ).toEqual([]);
  });

  it("names the variable of a real provider's missing key", () => {
    expect(
      preflight({
        choice: { name: "gemini" },
        pipeline: pipeline(SMALL_PIPELINE),
        settings: settings(),
        env: {},
      }),
    ).toEqual(["no API key for gemini (the run's provider): set GEMINI_API_KEY or GOOGLE_API_KEY"]);
  });

  it("checks the key of a judge's provider too, on an offline run", () => {
    const judged = SMALL_PIPELINE.replace("threshold: 0.6", "threshold: 0.6\n          provider: anthropic");
    expect(
      preflight({ choice: { name: "simulated" }, pipeline: pipeline(judged), settings: settings(), env: {} }),
    ).toEqual(["no API key for anthropic (the judge of phase research): set ANTHROPIC_API_KEY"]);
  });

  it("refuses a model with no price under a cost limit, naming where it is used and the line to add", () => {
    const env = { ATOMIC_SCRUM_OPENAI_BASE_URL: "https://llm.example.com/v1" };
    const problems = preflight({
      choice: { name: "openai-compatible" },
      pipeline: pipeline(BUDGETED),
      settings: settings({ prices: { "qwen2.5-coder:7b": { input: 0.1, output: 0.2 } } }),
      env,
    });
    expect(problems).toEqual([
      "no price for openai-compatible/qwen2.5-coder:14b (at deep: phase(s) research, implement; the judge(s) of research), and the pipeline's budget.max_cost_usd cannot be checked without one: add `qwen2.5-coder:14b: { input: <USD per million>, output: <USD per million> }` under `prices:` in the settings file, or `qwen2.5-coder:14b: { input: 0, output: 0 }` to mark it free",
    ]);
    // Without a cost limit, a model with no price only counts $0 with a warning: not a refusal.
    expect(check("openai-compatible", SMALL_PIPELINE, settings(), env)).toEqual([]);
    // A model marked free, or served on this machine, is priced.
    const free = settings({
      prices: { "qwen2.5-coder:7b": { input: 0, output: 0 }, "qwen2.5-coder:14b": { input: 0, output: 0 } },
    });
    expect(check("openai-compatible", BUDGETED, free, env)).toEqual([]);
    const local = { ATOMIC_SCRUM_OPENAI_BASE_URL: "http://localhost:11434/v1" };
    expect(check("openai-compatible", BUDGETED, settings(), local)).toEqual([]);
  });

  it("refuses a base URL without a scheme, in the settings or the environment, and a missing one", () => {
    const inSettings = settings({ providers: { "openai-compatible": { base_url: "localhost:11434/v1" } } });
    expect(
      preflight({
        choice: { name: "openai-compatible" },
        pipeline: pipeline(SMALL_PIPELINE),
        settings: inSettings,
        env: {},
      }),
    ).toEqual([
      'providers.openai-compatible.base_url in the settings file is "localhost:11434/v1", not an http(s) URL (the run\'s provider): write it with its scheme and host, e.g. http://localhost:11434/v1',
    ]);
    const env = { ATOMIC_SCRUM_OPENAI_BASE_URL: "127.0.0.1:11434" };
    expect(check("openai-compatible", SMALL_PIPELINE, settings(), env)[0]).toMatch(
      /^ATOMIC_SCRUM_OPENAI_BASE_URL is "127\.0\.0\.1:11434", not an http\(s\) URL/,
    );
    // The problem is posted on a GitHub issue: a user, password or key in the address is not shown.
    for (const url of ["bob:s3cret@llm.example.com/v1", "ftp://bob:s3cret@llm.example.com/v1?key=s3cret"]) {
      const [problem] = check("openai-compatible", SMALL_PIPELINE, settings(), {
        ATOMIC_SCRUM_OPENAI_BASE_URL: url,
      });
      expect(problem).toMatch(
        /^ATOMIC_SCRUM_OPENAI_BASE_URL is ".*llm\.example\.com\/v1.*", not an http\(s\) URL/,
      );
      expect(problem).not.toContain("s3cret");
    }
    expect(
      preflight({
        choice: { name: "openai-compatible" },
        pipeline: pipeline(SMALL_PIPELINE),
        settings: settings(),
        env: {},
      }),
    ).toEqual([
      "no address for openai-compatible (the run's provider): set providers.openai-compatible.base_url in the settings file, or ATOMIC_SCRUM_OPENAI_BASE_URL (with its /v1, e.g. http://localhost:11434/v1)",
    ]);
  });

  it("checks a fallback's address and prices, since it may take any call", () => {
    const fallback = settings({
      providers: {
        anthropic: { fallback: "openai-compatible" },
        "openai-compatible": { base_url: "ftp://llm.example.com" },
      },
    });
    const problems = preflight({
      choice: { name: "anthropic" },
      pipeline: pipeline(BUDGETED),
      settings: fallback,
      env: { ANTHROPIC_API_KEY: "sk-test" },
    });
    expect(problems[0]).toBe(
      'providers.openai-compatible.base_url in the settings file is "ftp://llm.example.com", not an http(s) URL (fallback of anthropic): write it with its scheme and host, e.g. http://localhost:11434/v1',
    );
    expect(problems.slice(1).map((p) => p.split(" (")[0])).toEqual([
      "no price for openai-compatible/qwen2.5-coder:7b",
      "no price for openai-compatible/qwen2.5-coder:14b",
    ]);
    expect(problems[1]).toContain("(at balanced: phase(s) research (on fallback), implement (on fallback))");
  });

  it("reads the fixtures of a recorded run: missing, unreadable or broken", () => {
    const small = pipeline(SMALL_PIPELINE);
    expect(
      preflight({ choice: { name: "recorded" }, pipeline: small, settings: settings(), env: {} }),
    ).toEqual(["the recorded provider needs a fixtures file: pass --fixtures FILE"]);
    const missing = join(tempDir(), "none.yml");
    expect(
      preflight({
        choice: { name: "recorded", fixtures: missing },
        pipeline: small,
        settings: settings(),
        env: {},
      }),
    ).toEqual([`the fixtures file: ${missing}:1:1: cannot read: no such file`]);
    const broken = tempFile("f.yml", "research:\n  - agent: 5\n");
    expect(
      preflight({
        choice: { name: "recorded", fixtures: broken },
        pipeline: small,
        settings: settings(),
        env: {},
      })[0],
    ).toMatch(/^the fixtures file: .*f\.yml:2:\d+: research\[0\]\.agent: /);
  });

  it("says every problem at once, one line each, and that nothing was created", () => {
    const problems = preflight({
      choice: { name: "openai-compatible" },
      pipeline: pipeline(BUDGETED),
      settings: settings({ budget: { daily_max_cost_usd: 5 } }),
      env: { ATOMIC_SCRUM_OPENAI_BASE_URL: "llm.example.com/v1" },
    });
    expect(problems).toHaveLength(3);
    expect(problems[1]).toContain(
      "the pipeline's budget.max_cost_usd and the settings' budget.daily_max_cost_usd cannot be checked",
    );
    expect(preflightMessage(problems).split("\n")).toEqual([
      "this run cannot start: 3 problem(s), and nothing was created (no run, no branch):",
      ...problems.map((problem) => `  - ${problem}`),
    ]);
  });
});

describe("atomic-scrum run refuses a run it cannot start: no run row, no branch, one clear message", () => {
  afterEach(() => vi.unstubAllEnvs());

  async function refused(...extra: string[]) {
    const repo = tempRepo();
    const result = await cli(
      "run",
      tempFile("p.yml", BUDGETED),
      "--issue",
      issueFile(),
      "--repo",
      repo,
      ...extra,
    );
    expect(result.code).toBe(1);
    expect(result.out).toBe("");
    expect(result.err).toMatch(
      /^atomic-scrum: this run cannot start: \d+ problem\(s\), and nothing was created/,
    );
    expect(result.err).not.toMatch(/^\s+at /m);
    expect(git(repo, "branch", "--format=%(refname:short)")).toBe("main");
    const dbPath = join(repo, ".git", "atomic-scrum", "atomic-scrum.db");
    if (existsSync(dbPath)) {
      const db = openDatabase(dbPath);
      expect(listRuns(db)).toEqual([]);
      db.close();
    }
    return result.err;
  }

  it("no API key", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "");
    expect(await refused("--provider", "anthropic")).toContain("set ANTHROPIC_API_KEY");
  });

  it("a model with no price", async () => {
    vi.stubEnv("ATOMIC_SCRUM_OPENAI_BASE_URL", "http://pi.lan:11434/v1");
    const err = await refused("--provider", "openai-compatible");
    expect(err).toContain("no price for openai-compatible/qwen2.5-coder:7b");
    expect(err).toContain("`qwen2.5-coder:7b: { input: 0, output: 0 }` to mark it free");
  });

  it("a base URL without a scheme (and the prices it then cannot assume), all at once", async () => {
    const file = tempFile(
      "settings.yml",
      "providers:\n  openai-compatible:\n    base_url: localhost:11434/v1\n",
    );
    const err = await refused("--provider", "openai-compatible", "--settings", file);
    expect(err).toContain('base_url in the settings file is "localhost:11434/v1", not an http(s) URL');
    expect(err).toContain("no price for openai-compatible/qwen2.5-coder:7b");
  });

  it("a missing or broken fixtures file", async () => {
    expect(await refused("--provider", "recorded", "--fixtures", join(tempDir(), "gone.yml"))).toContain(
      "cannot read: no such file",
    );
    const broken = join(tempDir(), "f.yml");
    writeFileSync(broken, "research:\n  - agent: *nope\n");
    expect(await refused("--provider", "recorded", "--fixtures", broken)).toContain(
      "alias *nope names no anchor",
    );
  });
});

describe("a labeled issue on GitHub that the server is not set up for", () => {
  it("is answered once with every problem, and creates no run and no branch", async () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const parts = buildGitHubApp({
      db,
      now: () => Date.UTC(2025, 0, 1),
      settings: ServerSettingsSchema.parse({}),
      // Offered (its address is set), but the address has no scheme and the models no price.
      env: { ATOMIC_SCRUM_OPENAI_BASE_URL: "llm.example.com/v1" },
    });
    const served = await serveProbot(parts.appFn);
    try {
      const repoPath = `/repos/${OWNER}/${REPO}`;
      const posted: { body: string }[] = [];
      const text = "provider: openai-compatible\n";
      githubApi()
        .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
        .reply(201, { token: "ghs_test", expires_at: "2999-01-01T00:00:00Z", permissions: {} });
      githubApi()
        .get(`${repoPath}/contents/.github%2Fatomic-scrum.yml`)
        .query({ ref: "master" })
        .times(2)
        .reply(200, {
          type: "file",
          path: ".github/atomic-scrum.yml",
          sha: "c0ffee",
          encoding: "base64",
          content: Buffer.from(text).toString("base64"),
        });
      githubApi()
        .get(`${repoPath}/collaborators/Codertocat/permission`)
        .times(2)
        .reply(200, { permission: "admin", role_name: "admin", user: { login: "Codertocat" } });
      githubApi().get(`${repoPath}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
      githubApi()
        .post(`${repoPath}/issues/1/comments`, (body) => posted.push(body) > 0)
        .reply(201, { id: 5 });
      expect((await served.deliver(labeledPayload(), { id: "d-1" })).status).toBe(200);
      // The label added again before anything was fixed: the same answer is not posted twice.
      expect((await served.deliver(labeledPayload(), { id: "d-2" })).status).toBe(200);
      expect(listRuns(db)).toEqual([]);
      expect(posted).toHaveLength(1);
      const body = posted[0]?.body ?? "";
      expect(body).toContain(
        "`atomic:coding` did not start a run: this Atomic Scrum server is not set up for it yet. Nothing was created.",
      );
      expect(body).toContain('- ATOMIC_SCRUM_OPENAI_BASE_URL is "llm.example.com/v1", not an http(s) URL');
      expect(body).toContain("- no price for openai-compatible/qwen2.5-coder:7b");
      expect(body).toContain("- no price for openai-compatible/qwen2.5-coder:14b");
      // No branch, no pull request, no status comment: only the config, the role and the reply.
      expect(
        requestLog()
          .filter((r) => r.method !== "GET" && !r.path.includes("access_tokens"))
          .map((r) => r.path),
      ).toEqual([`${repoPath}/issues/1/comments`]);
    } finally {
      await served.close();
      db.close();
    }
  });
});
