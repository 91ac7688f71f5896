import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import picomatch from "picomatch";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import { formatProblem } from "../../src/pipeline/problem.js";
import type { ResolvedAgentPhase, ResolvedPhase, ResolvedPipeline } from "../../src/pipeline/resolved.js";
import type { Gate, JudgeGate } from "../../src/pipeline/schema.js";

const codingFile = fileURLToPath(new URL("../../pipelines/coding.yml", import.meta.url));
const contentFile = fileURLToPath(new URL("../../pipelines/content.yml", import.meta.url));

function load(file: string): ResolvedPipeline {
  const result = loadPipelineFile(file);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.pipeline;
}

/** `id:task` for agent phases, `id:wait` and `id:approval` for the others. */
function sequence(pipeline: ResolvedPipeline): string[] {
  return pipeline.phases.map((phase) =>
    phase.kind === "agent" ? `${phase.id}:${phase.task}` : `${phase.id}:${phase.kind}`,
  );
}

function agentPhases(pipeline: ResolvedPipeline): ResolvedAgentPhase[] {
  return pipeline.phases.filter((phase): phase is ResolvedAgentPhase => phase.kind === "agent");
}

function phase(pipeline: ResolvedPipeline, id: string): ResolvedPhase {
  const found = pipeline.phases.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no phase "${id}"`);
  return found;
}

function agentPhase(pipeline: ResolvedPipeline, id: string): ResolvedAgentPhase {
  const found = phase(pipeline, id);
  if (found.kind !== "agent") throw new Error(`phase "${id}" is not an agent phase`);
  return found;
}

function judges(gates: Gate[]): JudgeGate["judge"][] {
  return gates.flatMap((gate) => ("judge" in gate ? [gate.judge] : []));
}

function assertValues(agent: ResolvedAgentPhase, type: string): unknown[] {
  return agent.gates.flatMap((gate) =>
    "assert" in gate && gate.assert.type === type ? [gate.assert.value] : [],
  );
}

/** Liquid expressions are variable references, not wording; they are left out of the comparison. */
function words(text: string): string[] {
  return text
    .replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, " ")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

const SHINGLE = 6;

/** Runs of six consecutive words that a rubric and a prompt share: rubric wording leaking into a prompt. */
function sharedRuns(rubric: string, prompt: string): string[] {
  const promptText = ` ${words(prompt).join(" ")} `;
  const rubricWords = words(rubric);
  const shared = new Set<string>();
  for (let start = 0; start + SHINGLE <= rubricWords.length; start++) {
    const run = rubricWords.slice(start, start + SHINGLE).join(" ");
    if (promptText.includes(` ${run} `)) shared.add(run);
  }
  return [...shared];
}

/** Every (phase, criterion, prompt phase, shared run) where a rubric's wording appears in a prompt. */
function holdoutLeaks(pipeline: ResolvedPipeline): string[] {
  const agents = agentPhases(pipeline);
  const leaks: string[] = [];
  for (const judged of agents) {
    for (const judge of judges(judged.gates)) {
      for (const criterion of judge.criteria) {
        for (const prompted of agents) {
          for (const run of sharedRuns(criterion.rubric, prompted.prompt)) {
            leaks.push(`${judged.id} / "${criterion.name}" -> prompt of ${prompted.id}: "${run}"`);
          }
        }
      }
    }
  }
  return leaks;
}

/** Phases as written in the YAML, before defaults are applied, to see what the author set. */
function rawPhases(file: string): Record<string, unknown>[] {
  return (parse(readFileSync(file, "utf8")) as { phases: Record<string, unknown>[] }).phases;
}

/**
 * Whether a path is allowed by a `paths` assert. Checked with and without `dot`, so the verdict
 * does not hang on whether the matcher lets `**` walk into `.github/`.
 */
function matcher(globs: string[]): (path: string) => boolean {
  const plain = picomatch(globs);
  const withDot = picomatch(globs, { dot: true });
  return (path) => {
    const verdict = plain(path);
    if (withDot(path) !== verdict) throw new Error(`"${path}" depends on dot matching`);
    return verdict;
  };
}

const VOICE = /\{\{\s*pipeline\.voice_style\s*\}\}/;

describe("holdout check", () => {
  it("finds a rubric sentence copied into a prompt", () => {
    const rubric = "1.0: every item states one behaviour that a reviewer could confirm by running it.";
    const prompt = "Write criteria. Make sure every item states one behaviour that a reviewer could confirm.";
    expect(sharedRuns(rubric, prompt)).toEqual([
      "every item states one behaviour that",
      "item states one behaviour that a",
      "states one behaviour that a reviewer",
      "one behaviour that a reviewer could",
      "behaviour that a reviewer could confirm",
    ]);
  });

  it("ignores shared template variables and short common phrases", () => {
    const rubric = "Compare with the requirements below.\n{{ phases.requirements.output }}";
    const prompt =
      "## Requirements\n\n{{ phases.requirements.output }}\nCompare with the requirements below.";
    expect(sharedRuns(rubric, prompt)).toEqual([]);
  });
});

describe.each([
  ["coding", codingFile],
  ["content", contentFile],
])("built-in pipeline %s", (_name, file) => {
  it("loads without problems", () => {
    const result = loadPipelineFile(file);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });

  it("gates every agent phase with a judge of 2 to 4 weighted criteria and a 0.7-0.8 threshold", () => {
    for (const agent of agentPhases(load(file))) {
      const phaseJudges = judges(agent.gates);
      expect(phaseJudges.length, agent.id).toBeGreaterThanOrEqual(1);
      for (const judge of phaseJudges) {
        expect(judge.threshold, agent.id).toBeGreaterThanOrEqual(0.7);
        expect(judge.threshold, agent.id).toBeLessThanOrEqual(0.8);
        expect(judge.criteria.length, agent.id).toBeGreaterThanOrEqual(2);
        expect(judge.criteria.length, agent.id).toBeLessThanOrEqual(4);
      }
    }
  });

  it("anchors every rubric with what a 1.0, a 0.5 and a 0.0 look like", () => {
    for (const agent of agentPhases(load(file))) {
      for (const criterion of judges(agent.gates).flatMap((judge) => judge.criteria)) {
        const where = `${agent.id} / ${criterion.name}`;
        expect(criterion.rubric, where).toMatch(/\b1\.0:/);
        expect(criterion.rubric, where).toMatch(/\b0\.5:/);
        expect(criterion.rubric, where).toMatch(/\b0\.0:/);
      }
    }
  });

  it("backs every judge with at least one free assert", () => {
    for (const agent of agentPhases(load(file))) {
      expect(
        agent.gates.some((gate) => "assert" in gate),
        agent.id,
      ).toBe(true);
    }
  });

  it("says what a failed gate does on every gated phase", () => {
    const raw = rawPhases(file).filter((entry) => "task" in entry);
    expect(raw.length).toBeGreaterThan(0);
    for (const entry of raw) expect(entry, String(entry.id)).toHaveProperty("on_fail");
  });

  it("writes every artifact under docs/atomic-scrum/<issue>/", () => {
    for (const agent of agentPhases(load(file))) {
      if ("artifact" in agent.output) {
        expect(agent.output.artifact, agent.id).toMatch(
          /^docs\/atomic-scrum\/\{\{ issue\.number \}\}\/[a-z-]+\.md$/,
        );
      }
    }
  });

  it("keeps rubric wording out of every prompt (holdout)", () => {
    expect(holdoutLeaks(load(file))).toEqual([]);
  });

  it("ends with a human approval", () => {
    const last = load(file).phases.at(-1);
    expect(last).toMatchObject({ kind: "approval", minApprovals: 1 });
  });
});

describe("built-in pipeline coding", () => {
  const pipeline = load(codingFile);

  it("runs requirements, implement, review, fix, tests, security audit, then human review", () => {
    expect(pipeline.labels).toEqual(["atomic:coding"]);
    expect(sequence(pipeline)).toEqual([
      "requirements:research",
      "implement:code",
      "code-review:review",
      "fix:code",
      "tests:code",
      "security-audit:review",
      "human-review:approval",
    ]);
  });

  it("has a budget", () => {
    expect(pipeline.budget?.maxCostUsd).toBeGreaterThan(0);
    expect(pipeline.budget?.maxTokens).toBeGreaterThan(0);
  });

  it("changes files in implement, fix and tests, and writes documents elsewhere", () => {
    const outputs = Object.fromEntries(agentPhases(pipeline).map((agent) => [agent.id, agent.output]));
    expect(outputs).toEqual({
      requirements: { artifact: "docs/atomic-scrum/{{ issue.number }}/requirements.md" },
      implement: { files: true },
      "code-review": { artifact: "docs/atomic-scrum/{{ issue.number }}/code-review.md" },
      fix: { files: true },
      tests: { files: true },
      "security-audit": { artifact: "docs/atomic-scrum/{{ issue.number }}/security-audit.md" },
    });
  });

  it("reviews on the deep tier", () => {
    expect(agentPhase(pipeline, "code-review").tier).toBe("deep");
    expect(agentPhase(pipeline, "security-audit").tier).toBe("deep");
  });

  it("gives the fix phase the code review to work from", () => {
    expect(agentPhase(pipeline, "fix").prompt).toMatch(/\{\{\s*phases\.code-review\.output\s*\}\}/);
  });

  describe.each(["implement", "fix"])("the %s phase's paths assert", (id) => {
    const [globs] = assertValues(agentPhase(pipeline, id), "paths") as string[][];
    const allowed = matcher(globs ?? []);

    it("allows source, tests and docs", () => {
      for (const path of [
        "src/index.ts",
        "lib/parser/read.py",
        "test/cli.test.ts",
        "docs/usage.md",
        "README.md",
      ]) {
        expect(allowed(path), path).toBe(true);
      }
    });

    it("refuses CI configuration, lockfiles and manifests", () => {
      for (const path of [
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
        ".circleci/config.yml",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Cargo.lock",
        "poetry.lock",
        "go.sum",
        "package.json",
      ]) {
        expect(allowed(path), path).toBe(false);
      }
    });
  });

  it("lets the tests phase write tests only", () => {
    const [globs] = assertValues(agentPhase(pipeline, "tests"), "paths") as string[][];
    const allowed = matcher(globs ?? []);
    for (const path of [
      "test/cli.test.ts",
      "src/parse.test.ts",
      "pkg/run/run_test.go",
      "tests/test_api.py",
    ]) {
      expect(allowed(path), path).toBe(true);
    }
    for (const path of ["src/parse.ts", "package.json", ".github/workflows/ci.yml", "package-lock.json"]) {
      expect(allowed(path), path).toBe(false);
    }
  });
});

describe("built-in pipeline content", () => {
  const pipeline = load(contentFile);

  it("runs research, draft, checks and revisions, red team, a cooldown, then human review", () => {
    expect(pipeline.labels).toEqual(["atomic:content"]);
    expect(sequence(pipeline)).toEqual([
      "research:research",
      "draft:write",
      "fact-check:review",
      "mechanical-revision:mechanical",
      "editorial-revision:write",
      "red-team:review",
      "cooldown:wait",
      "human-review:approval",
    ]);
  });

  it("copy-edits on the fast tier and cools off for a day", () => {
    expect(agentPhase(pipeline, "mechanical-revision").tier).toBe("fast");
    expect(phase(pipeline, "cooldown")).toMatchObject({ wait: "24h", waitMs: 24 * 60 * 60 * 1000 });
  });

  it("declares a house voice with some substance", () => {
    expect(words(pipeline.voiceStyle ?? "").length).toBeGreaterThanOrEqual(20);
  });

  it("asks for the house voice in every phase that writes the piece", () => {
    for (const id of ["draft", "mechanical-revision", "editorial-revision"]) {
      expect(agentPhase(pipeline, id).prompt, id).toMatch(VOICE);
    }
  });

  it("guards the voice in a judge criterion of each revision phase", () => {
    for (const id of ["mechanical-revision", "editorial-revision"]) {
      const rubrics = judges(agentPhase(pipeline, id).gates).flatMap((judge) =>
        judge.criteria.map((criterion) => criterion.rubric),
      );
      expect(
        rubrics.filter((rubric) => VOICE.test(rubric)),
        id,
      ).not.toEqual([]);
    }
  });
});
