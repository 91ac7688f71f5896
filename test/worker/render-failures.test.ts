import { describe, expect, it } from "vitest";
import { renderPhases } from "../../src/local/dry-run/render-phases.js";
import type { Fixtures } from "../../src/providers/recorded.js";
import { getRun } from "../../src/store/runs.js";
import { ISSUE, loadPipeline, openApp, recording, start } from "../helpers/local-run.js";
import { tempRepo } from "../helpers/temp.js";

// Passes validate (its trial render has issue number 1) yet runs over the limits on a big issue
// number: the shape of a template whose cost depends on the run's values.
const RUNAWAY = "{% for i in (1..issue.number) %}{% for j in (1..issue.number) %}.{% endfor %}{% endfor %}";
const BIG = { ...ISSUE, number: 200_000 };

function pipeline(prompt: string, rubric = "Reads plainly and names the function."): string {
  return `
name: bounded
phases:
  - id: write
    task: write
    prompt: "${prompt}"
    on_fail: { retries: 2, escalate: false }
    gates:
      - judge:
          threshold: 0.5
          tier: fast
          criteria:
            - { name: clarity, weight: 1, rubric: "${rubric}" }
`;
}

async function runWith(text: string, fixtures: Fixtures) {
  const provider = recording(fixtures);
  const app = openApp(tempRepo(), { provider });
  const run = start(app, text, BIG);
  await app.worker.runUntilIdle();
  const state = getRun(app.db, run.id)?.state;
  app.close();
  return { state, requests: provider.requests };
}

describe("a template that runs over its limits in a run", () => {
  it("fails the phase with the reason, at once and without calling a model", async () => {
    const result = await runWith(pipeline(RUNAWAY), {});
    expect(result.requests).toEqual([]);
    expect(result.state?.status).toBe("failed");
    expect(result.state?.reason).toMatch(
      /^phase "write" could not run: the prompt does not render: the template ran over its (render time|memory) limit/,
    );
  });

  it("in a rubric, fails the phase as not judged instead of retrying a job", async () => {
    const result = await runWith(pipeline("Write about {{ issue.title }}", `Clear. ${RUNAWAY}`), {
      write: [{ agent: "Draft." }],
    });
    expect(result.requests.map((r) => r.purpose.kind)).toEqual(["agent"]);
    expect(result.state?.status).toBe("failed");
    expect(result.state?.reason).toMatch(
      /could not be judged: the rubric of "clarity" does not render: the template ran over its (render time|memory) limit/,
    );
  });

  it("in an artifact path, ends the run as refused instead of retrying a job", async () => {
    const text = pipeline("Write about {{ issue.title }}").replace(
      "    on_fail:",
      `    output: { artifact: "docs/{% for i in (1..issue.number) %}{% for j in (1..issue.number) %}x{% endfor %}{% endfor %}.md" }\n    on_fail:`,
    );
    const result = await runWith(text, {
      write: [{ agent: "Draft.", judge: { clarity: { score: 0.9, reason: "ok" } } }],
    });
    expect(result.state?.status).toBe("failed");
    expect(result.state?.reason).toMatch(
      /^refused: the artifact path does not render: the template ran over its (render time|memory) limit/,
    );
  });

  it("is a problem of the dry run, which ends", async () => {
    const { pipeline: resolved } = loadPipeline(pipeline(RUNAWAY, `Clear. ${RUNAWAY}`));
    const repo = { owner: "o", name: "r", defaultBranch: "main" };
    const rendered = await renderPhases({ pipeline: resolved, issue: BIG }, repo, async () => ({
      files: [],
      omitted: [],
    }));
    expect(rendered.problems).toEqual([
      expect.stringMatching(/^write\.prompt: the template ran over its (render time|memory) limit/),
      expect.stringMatching(/^write\.gates\[0\]\.judge\.criteria\[0\]\.rubric: the template ran over/),
    ]);
  });
});
