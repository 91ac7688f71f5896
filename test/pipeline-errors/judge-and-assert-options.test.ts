import { describe, expect, it } from "vitest";
import { HEAD, problemLines } from "./helpers.js";

const gated = (gate: string) =>
  `${HEAD}  - id: a\n    task: write\n    prompt: y\n    gates:\n      - ${gate}\n`;

describe("judge options and json-schema asserts", () => {
  it("accepts samples, a judge provider and model, and a readable JSON Schema", () => {
    expect(
      problemLines(
        gated(
          "judge: { threshold: 0.5, samples: 3, provider: gemini, model: gemini-3.8-flash, criteria: [{ name: c, weight: 1, rubric: r }] }",
        ),
      ),
    ).toEqual([]);
    expect(
      problemLines(gated("assert: { type: json-schema, value: { type: object, required: [verdict] } }")),
    ).toEqual([]);
  });

  it("refuses samples outside 1..5 and a provider the judge cannot use, at the field", () => {
    expect(
      problemLines(
        gated("judge: { threshold: 0.5, samples: 9, criteria: [{ name: c, weight: 1, rubric: r }] }"),
      ),
    ).toEqual(["p.yml:7:43: phases[0].gates[0].judge.samples: samples must be between 1 and 5"]);
    expect(
      problemLines(
        gated("judge: { threshold: 0.5, provider: recorded, criteria: [{ name: c, weight: 1, rubric: r }] }"),
      ),
    ).toEqual([
      'p.yml:7:44: phases[0].gates[0].judge.provider: expected one of simulated | anthropic | gemini | openai-compatible, got "recorded"',
    ]);
  });

  it("refuses a JSON Schema it cannot read, saying why", () => {
    expect(problemLines(gated("assert: { type: json-schema, value: { type: nonsense } }"))).toEqual([
      'p.yml:7:17: phases[0].gates[0].assert: "json-schema" needs a JSON Schema it can read: Unsupported type: nonsense',
    ]);
  });
});
