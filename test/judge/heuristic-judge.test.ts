import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { outputText } from "../../src/engine/output-text.js";
import { renderPrompt } from "../../src/engine/template-context.js";
import { parseFileEdit } from "../../src/executors/llm.js";
import {
  createHeuristicJudge,
  gradeHeuristically,
  type HeuristicReference,
  type JudgedWork,
} from "../../src/judge/heuristic-judge.js";
import { runJudgeGate } from "../../src/judge/judge-gate.js";
import { type MutationKind, mutationsOf, type PhaseOutput } from "../../src/local/mutations.js";
import { loadPipelineFile } from "../../src/pipeline/load-pipeline.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../../src/pipeline/resolved.js";
import type { JudgeGate } from "../../src/pipeline/schema.js";

interface CleanRun {
  pipeline: ResolvedPipeline;
  issue: { number: number; title: string; body: string };
  files: Record<string, string>;
  good: Map<string, PhaseOutput>;
}

/** A built-in pipeline and the good output of each phase in its clean-run scenario. */
function cleanRun(name: "coding" | "content"): CleanRun {
  const loaded = loadPipelineFile(`pipelines/${name}.yml`);
  if (!loaded.ok) throw new Error(`pipelines/${name}.yml does not load`);
  const scenario = parse(readFileSync(`pipelines/scenarios/${name}/clean-run.yml`, "utf8"));
  const good = new Map<string, PhaseOutput>();
  for (const [id, attempts] of Object.entries(scenario.cassettes as Record<string, { agent: unknown }[]>)) {
    const agent = attempts[0]?.agent;
    if (typeof agent === "string") good.set(id, { text: agent });
    else {
      const edit = parseFileEdit(JSON.stringify(agent));
      good.set(id, { text: edit.summary, files: edit.files });
    }
  }
  return { pipeline: loaded.pipeline, issue: scenario.issue, files: scenario.files, good };
}

const runs = { coding: cleanRun("coding"), content: cleanRun("content") };

function phaseOf(run: CleanRun, id: string): ResolvedAgentPhase {
  const phase = run.pipeline.phases.find((p) => p.id === id);
  if (phase?.kind !== "agent") throw new Error(`no agent phase "${id}"`);
  return phase;
}

function judged(output: PhaseOutput): JudgedWork {
  const files = (output.files ?? []).map((f) => ({
    path: f.path,
    content: "content" in f ? f.content : undefined,
  }));
  return { text: output.text, files };
}

function referenceFor(run: CleanRun, id: string): HeuristicReference {
  const good = run.good.get(id) as PhaseOutput;
  return {
    good: judged(good),
    issue: run.issue,
    ...(run.pipeline.voiceStyle ? { voiceStyle: run.pipeline.voiceStyle } : {}),
  };
}

function judgeGate(phase: ResolvedAgentPhase): JudgeGate["judge"] {
  const gate = phase.gates.find((g): g is JudgeGate => "judge" in g);
  if (!gate) throw new Error(`phase "${phase.id}" has no judge`);
  return gate.judge;
}

/** Grades an output with the phase's own judge gate, through the prompt the worker sends. */
async function judge(run: CleanRun, id: string, output: PhaseOutput) {
  const phase = phaseOf(run, id);
  const earlier: Record<string, string> = {};
  for (const [otherId, other] of run.good) {
    if (otherId === id) break;
    earlier[otherId] = outputText({
      ...other,
      provider: "",
      model: "",
      tier: "balanced",
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0,
    });
  }
  const input = {
    issue: { ...run.issue, labels: [], author: "maintainer", url: "" },
    repo: { owner: "local", name: "repo", defaultBranch: "main" },
    pipeline: run.pipeline,
    outputs: { ...earlier, [id]: output.text },
    phase: { id, name: phase.name },
  };
  const subject = {
    text: output.text,
    ...(output.files ? { files: output.files } : {}),
    phaseId: id,
    attempt: 1,
  };
  return runJudgeGate(
    judgeGate(phase),
    subject,
    (rubric) => renderPrompt(rubric, input),
    createHeuristicJudge(referenceFor(run, id)),
  );
}

function mutation(run: CleanRun, id: string, kind: MutationKind): PhaseOutput {
  const found = mutationsOf({
    pipeline: run.pipeline,
    phase: phaseOf(run, id),
    good: run.good.get(id) as PhaseOutput,
    repository: run.files,
  }).find((m) => m.kind === kind);
  if (!found || "skipped" in found) throw new Error(`no ${kind} mutation for ${id}`);
  return found.output;
}

/** Every phase of both clean runs that has a judge gate. */
const judgedPhases = (["coding", "content"] as const).flatMap((name) =>
  runs[name].pipeline.phases
    .filter((p): p is ResolvedAgentPhase => p.kind === "agent" && p.gates.some((g) => "judge" in g))
    .map((p) => [name, p.id] as const),
);

describe("the heuristic judge", () => {
  it.each(judgedPhases)(
    "passes the good %s output of phase %s, every criterion over its floor",
    async (name, id) => {
      const result = await judge(runs[name], id, runs[name].good.get(id) as PhaseOutput);
      expect(result.error).toBeUndefined();
      expect(result.pass).toBe(true);
      expect(result.score).toBeCloseTo(0.95);
    },
  );

  it.each([
    ["coding", "requirements", "empty"],
    ["coding", "requirements", "truncated"],
    ["coding", "requirements", "off-topic"],
    ["coding", "implement", "empty"],
    ["coding", "implement", "truncated"],
    ["coding", "implement", "off-topic"],
    ["coding", "implement", "placeholder"],
    ["coding", "implement", "outside-paths"],
    ["coding", "security-audit", "off-topic"],
    ["content", "fact-check", "truncated"],
    ["content", "draft", "off-topic"],
    ["content", "draft", "placeholder"],
    ["content", "draft", "voice-sanded"],
    ["content", "mechanical-revision", "voice-sanded"],
    ["content", "editorial-revision", "voice-sanded"],
  ] as const)("fails the %s pipeline's %s output when it is %s", async (name, id, kind) => {
    const result = await judge(runs[name], id, mutation(runs[name], id, kind));
    expect(result.error).toBeUndefined();
    expect(result.pass).toBe(false);
  });

  it("says why, in the words a reader would use", () => {
    const run = runs.coding;
    const grade = (kind: MutationKind) =>
      gradeHeuristically(
        judged(mutation(run, "implement", kind)),
        { name: "any", rubric: "any" },
        referenceFor(run, "implement"),
      );
    expect(grade("empty")).toEqual({
      score: 0,
      reason:
        "heuristic stand-in: 0% of the good answer's distinctive words; 0% of the issue's words; 0% of the good answer's length",
    });
    expect(grade("truncated").reason).toContain("cut off mid-sentence");
    expect(grade("truncated").score).toBeLessThanOrEqual(0.3);
    expect(grade("placeholder")).toMatchObject({
      score: 0.19,
      reason: "heuristic stand-in: placeholder text",
    });
    expect(grade("outside-paths")).toEqual({
      score: 0.48,
      reason: "heuristic stand-in: changes files the good answer leaves alone (package.json)",
    });
  });

  it("marks a sanded voice down on the voice criterion only: the facts survive a flattening edit", async () => {
    const run = runs.content;
    const result = await judge(run, "draft", mutation(run, "draft", "voice-sanded"));
    const byName = Object.fromEntries((result.details?.criteria ?? []).map((c) => [c.name, c]));
    expect(byName["stays within the brief's facts"]?.score).toBeGreaterThanOrEqual(0.9);
    expect(byName["lands the angle for its audience"]?.score).toBeGreaterThanOrEqual(0.9);
    expect(byName["sounds like the house voice"]?.score).toBeLessThan(0.5);
    expect(byName["sounds like the house voice"]?.reason).toMatch(/first person: 0% kept/);
  });

  it("leaves the voice alone in a pipeline with no voice_style", () => {
    const run = runs.content;
    const sanded = judged(mutation(run, "draft", "voice-sanded"));
    const { voiceStyle: _none, ...noVoice } = referenceFor(run, "draft");
    const criterion = { name: "sounds like the house voice", rubric: "The voice." };
    expect(gradeHeuristically(sanded, criterion, noVoice).score).toBeGreaterThanOrEqual(0.9);
  });

  it("grades the work, not the copy of the good output a rubric quotes", async () => {
    // mechanical-revision's rubrics quote the draft, which is nearly the good copy edit itself: a
    // judge that read the rubric's block as the work would pass an off-topic answer.
    const run = runs.content;
    const result = await judge(run, "mechanical-revision", mutation(run, "mechanical-revision", "off-topic"));
    expect(result.score).toBeLessThan(0.1);
  });
});
