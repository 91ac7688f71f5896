import { describe, expect, it } from "vitest";
import { runAssert } from "../../src/judge/asserts.js";
import { runJudgeGate } from "../../src/judge/judge-gate.js";
import { weightedVerdict } from "../../src/judge/scoring.js";
import type { ModelResponse } from "../../src/providers/provider.js";

describe("weighted scoring", () => {
  it("is sum(weight x score) / sum(weight)", () => {
    const result = weightedVerdict(
      [
        { name: "a", weight: 3, score: 1 },
        { name: "b", weight: 1, score: 0 },
      ],
      0.75,
    );
    expect(result).toEqual({ score: 0.75, pass: true, belowFloor: [] });
  });

  it("puts all the weight on one criterion when the others weigh little", () => {
    const result = weightedVerdict(
      [
        { name: "a", weight: 1000, score: 0.2 },
        { name: "b", weight: 0.001, score: 1 },
      ],
      0.5,
    );
    expect(result.score).toBeCloseTo(0.2, 3);
    expect(result.pass).toBe(false);
  });

  it("fails a high average when one criterion is under its floor", () => {
    const result = weightedVerdict(
      [
        { name: "a", weight: 5, score: 1 },
        { name: "b", weight: 1, score: 0.3, floor: 0.5 },
      ],
      0.7,
    );
    expect(result.score).toBeGreaterThan(0.85);
    expect(result).toMatchObject({ pass: false, belowFloor: ["b"] });
  });
});

describe("asserts", () => {
  it("counts words, and not- inverts", () => {
    expect(runAssert("min-words", 3, { text: "one two" })).toEqual({
      pass: false,
      reason: "2 words (minimum 3)",
    });
    expect(runAssert("not-min-words", 3, { text: "one two" }).pass).toBe(true);
  });

  it("finds placeholder text in the output and in changed files", () => {
    expect(runAssert("no-placeholders", undefined, { text: "All done." }).pass).toBe(true);
    expect(
      runAssert("no-placeholders", undefined, {
        text: "ok",
        files: [{ path: "a.ts", content: "// TODO later" }],
      }),
    ).toEqual({
      pass: false,
      reason: "placeholder text: TODO",
    });
    expect(runAssert("no-placeholders", undefined, { text: "As an AI, I cannot" }).pass).toBe(false);
  });

  it("keeps changes inside the allowed paths", () => {
    const files = [
      { path: "src/a.ts", content: "" },
      { path: ".github/ci.yml", content: "" },
    ];
    expect(runAssert("paths", ["src/**"], { text: "", files })).toEqual({
      pass: false,
      reason: "changes outside the allowed paths: .github/ci.yml",
    });
    expect(runAssert("paths", ["src/**", ".github/*"], { text: "", files }).pass).toBe(true);
  });

  it("checks regex, contains and JSON", () => {
    expect(runAssert("regex", "Verdict: (approve|reject)", { text: "Verdict: approve" }).pass).toBe(true);
    expect(runAssert("contains", "AC1", { text: "AC2 only" }).pass).toBe(false);
    expect(runAssert("is-json", undefined, { text: '{"a":1}' }).pass).toBe(true);
    expect(runAssert("is-json", undefined, { text: "{a:1}" }).pass).toBe(false);
  });

  it("reads ^ and $ of a regex as the answer's start and end, whitespace around it aside", () => {
    const answer = { text: "\nSummary of the change.\n\nRisk: low\n" };
    expect(runAssert("regex", "Risk: (low|high)$", answer).pass).toBe(true);
    expect(runAssert("regex", "^Summary", answer).pass).toBe(true);
    expect(runAssert("not-regex", "Risk: low$", answer).pass).toBe(false);
    expect(runAssert("regex", "^Risk", answer).pass).toBe(false);
  });

  it("checks JSON against a JSON Schema, saying where it does not fit", () => {
    const schema = {
      type: "object",
      properties: {
        verdict: { enum: ["approve", "reject"] },
        issues: { type: "array", items: { type: "string" } },
      },
      required: ["verdict"],
    };
    expect(runAssert("json-schema", schema, { text: '{"verdict": "approve", "issues": []}' })).toEqual({
      pass: true,
      reason: "fits the JSON Schema",
    });
    const wrong = runAssert("json-schema", schema, { text: '{"verdict": "maybe", "issues": [3]}' });
    expect(wrong.pass).toBe(false);
    expect(wrong.reason).toMatch(/^does not fit the JSON Schema: verdict: .*; issues\.0: /);
    expect(runAssert("json-schema", schema, { text: "not json" }).reason).toBe("is not valid JSON");
    expect(runAssert("not-json-schema", schema, { text: '{"issues": []}' }).pass).toBe(true);
  });
});

function answering(...texts: string[]) {
  const calls: string[] = [];
  const call = async (
    _request: { prompt: string },
    target: { criterion: number },
  ): Promise<ModelResponse> => {
    calls.push(["clear", "true"][target.criterion] ?? "?");
    const text = texts[calls.length - 1];
    if (text === undefined) throw new Error("provider down");
    return {
      text,
      provider: "test",
      model: "judge-1",
      simulated: true,
      usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 },
    };
  };
  return { call, calls };
}

const gate = {
  threshold: 0.7,
  samples: 1,
  criteria: [
    { name: "clear", weight: 2, rubric: "Reads plainly." },
    { name: "true", weight: 1, rubric: "States no falsehood.", floor: 0.5 },
  ],
};
const subject = { text: "The work.", phaseId: "draft", attempt: 1 };

describe("the judge gate", () => {
  it("grades each criterion in its own call and combines the weighted scores", async () => {
    const judge = answering(
      '{"score": 0.9, "reason": "plain"}',
      '```json\n{"score": 0.6, "reason": "one doubtful claim"}\n```',
    );
    const result = await runJudgeGate(gate, subject, (r) => r, judge.call);
    expect(judge.calls).toEqual(["clear", "true"]);
    expect(result.pass).toBe(true);
    expect(result.score).toBeCloseTo(0.8, 5);
    expect(result.details?.criteria.map((c) => [c.name, c.score, c.pass])).toEqual([
      ["clear", 0.9, true],
      ["true", 0.6, true],
    ]);
    expect(result.details?.model).toBe("test/judge-1");
  });

  it.each([
    ["output that is not JSON", "I think it is good", "is not JSON"],
    ["a score out of range", '{"score": 1.4, "reason": "great"}', "malformed"],
    ["a missing reason", '{"score": 0.9}', "malformed"],
  ])("treats %s as a grader error, not a failing grade", async (_name, text, message) => {
    const result = await runJudgeGate(gate, subject, (r) => r, answering(text).call);
    expect(result.error).toContain("could not be judged");
    expect(result.error).toContain(message);
    expect(result.details).toBeUndefined();
  });

  it("with a rubric that does not render, is a grader error before any judge is called (and paid)", async () => {
    const judge = answering('{"score": 0.9, "reason": "plain"}');
    const render = (rubric: string) => {
      if (rubric === "States no falsehood.") throw new Error("the template ran over its memory limit");
      return rubric;
    };
    const result = await runJudgeGate(gate, subject, render, judge.call);
    expect(result.error).toBe(
      'could not be judged: the rubric of "true" does not render: the template ran over its memory limit',
    );
    expect(judge.calls).toEqual([]);
  });

  it("with samples, grades each criterion several times and keeps the median, with the reason nearest it", async () => {
    const judge = answering(
      '{"score": 0.2, "reason": "an outlier"}',
      '{"score": 0.9, "reason": "high"}',
      '{"score": 0.8, "reason": "the middle grade"}',
      '{"score": 0.7, "reason": "fine"}',
      '{"score": 0.7, "reason": "fine again"}',
      '{"score": 0.1, "reason": "harsh"}',
    );
    const result = await runJudgeGate({ ...gate, samples: 3 }, subject, (r) => r, judge.call);
    expect(judge.calls).toEqual(["clear", "clear", "clear", "true", "true", "true"]);
    expect(result.details?.criteria.map((c) => [c.name, c.score, c.reason])).toEqual([
      ["clear", 0.8, "the middle grade"],
      ["true", 0.7, "fine"],
    ]);
    expect(result.score).toBeCloseTo((2 * 0.8 + 0.7) / 3, 5);
  });

  it("treats a provider failure as a grader error", async () => {
    const result = await runJudgeGate(gate, subject, (r) => r, answering().call);
    expect(result.error).toBe('could not be judged: judge call failed for "clear": provider down');
  });
});

describe("no-placeholders on a changed file", () => {
  it("looks only at the lines the phase added, not at a TODO the file already had", () => {
    const files = [{ path: "src/a.ts", content: "// TODO(#3): old note\nexport const a = 1;\n" }];
    const previous = { "src/a.ts": "// TODO(#3): old note\n" };
    expect(runAssert("no-placeholders", undefined, { text: "done", files, previous }).pass).toBe(true);
    const added = [{ path: "src/a.ts", content: "// TODO(#3): old note\n// TODO: finish\n" }];
    expect(runAssert("no-placeholders", undefined, { text: "done", files: added, previous }).pass).toBe(
      false,
    );
  });
});
