import { describe, expect, it } from "vitest";
import { TRIAL_BUDGET_MS } from "../../src/pipeline/check-pipeline.js";
import { loadPipelineText } from "../../src/pipeline/load-pipeline.js";
import { TEMPLATE_LIMITS } from "../../src/pipeline/templates.js";

/** A prompt that loops until the render time limit stops it: 500 ms of a validator's time. */
const SLOW = "{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}";

describe("pipeline check > trial renders", () => {
  it("stop once the pipeline's templates have used its budget, instead of 500 ms for every one", () => {
    const count = 12; // 6 s of trial renders without a shared budget
    const phases = Array.from(
      { length: count },
      (_, i) => `  - { id: p${i}, task: research, prompt: "${SLOW}", output: { artifact: "docs/p${i}.md" } }`,
    );
    const loaded = loadPipelineText(`name: slow\nphases:\n${phases.join("\n")}\n`, "slow.yml");
    expect(loaded.ok).toBe(false);
    const messages = loaded.ok ? [] : loaded.problems.map((p) => p.message);
    const overTime = messages.filter((m) => m.includes("render time limit"));
    // Each slow render costs at least the time limit, so the budget holds this many of them at most.
    expect(overTime.length).toBeLessThanOrEqual(Math.ceil(TRIAL_BUDGET_MS / TEMPLATE_LIMITS.renderMs));
    expect(messages.filter((m) => m.includes("were not tried"))).toHaveLength(1);
  });
});
