import { describe, expect, it } from "vitest";
import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import { HEAD, problemLines } from "./helpers.js";

const waitFor = (duration: string) => `${HEAD}  - id: cool\n    wait: ${duration}\n`;

describe("a wait phase's duration", () => {
  it("is refused above 365 days, even when the number overflows to a huge value", () => {
    expect(problemLines(waitFor("99999999999999999999d"))).toEqual([
      "p.yml:4:11: phases[0].wait: must be at most 365d (one year); a longer cooldown is almost certainly a typo",
    ]);
  });

  it("is refused one millisecond past a year, also when the parts add up past it", () => {
    expect(problemLines(waitFor("366d"))).toHaveLength(1);
    expect(problemLines(waitFor("365d1ms"))).toHaveLength(1);
    expect(problemLines(waitFor("300d1600h"))).toHaveLength(1);
  });

  it("accepts exactly a year, however it is written", () => {
    for (const text of ["365d", "8760h", "525600m"]) {
      const result = loadPipelineText(waitFor(text), "p.yml");
      expect(result.ok, text).toBe(true);
    }
  });

  it("still reports a malformed duration with the shape message only", () => {
    expect(problemLines(waitFor("24 hours"))).toEqual([
      'p.yml:4:11: phases[0].wait: must be a duration such as "30m", "24h" or "1d12h"',
    ]);
  });
});
