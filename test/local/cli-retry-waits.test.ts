import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: a retried run enters its approval or cooldown again, in a new round. What a
// person does there must count in that round: the same person's `atomic-scrum approve` is not taken
// for the failed round's approval, and `resume --no-wait` carries the round in its event (a round-0
// timer is dropped in round 1 as stale) and in its job key (or it dedupes against the failed round's).

const pipelineWith = (wait: string) => `
name: waits
defaults:
  on_fail: { retries: 0, escalate: false }
phases:
  - id: research
    task: research
    prompt: "Study the issue: {{ issue.title }}"
    output: { artifact: "notes/{{ issue.number }}/research.md" }
  - id: hold
    ${wait}
  - id: implement
    task: code
    prompt: "Implement it. Research: {{ phases.research.output }}"
    output: { files: true }
    gates:
      - assert: { type: paths, value: ["src/**"] }
`;

const edit = (path: string) => JSON.stringify({ summary: `edit ${path}`, files: [{ path, content: "x\n" }] });

function runIdOf(text: string): string {
  const id = /run (run-\d+-[0-9a-f]{6})/.exec(text)?.[1];
  if (!id) throw new Error(`no run id in: ${text}`);
  return id;
}

/**
 * Starts a run whose implement phase fails its paths assert (docs/x.md is outside src/), passing
 * the wait with `pass`; then retries it from research with answers that pass, and returns what
 * passing the wait a second time printed.
 */
async function failThenRetry(
  wait: string,
  pass: string[],
  expectFirst: string,
): Promise<{ id: string; out: string; hint: string }> {
  const repo = tempRepo();
  const pipeline = tempFile("p.yml", pipelineWith(wait));
  const fixtures = tempFile(
    "fixtures.json",
    JSON.stringify({ research: [{ agent: "Notes." }], implement: [{ agent: edit("docs/x.md") }] }),
  );
  const recorded = ["--provider", "recorded", "--fixtures", fixtures];
  const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded)).out);
  const first = await cli(...pass.map((arg) => arg.replace("<id>", id)), "--repo", repo, ...recorded);
  expect(first.out).toContain(expectFirst);
  expect(first.out).toContain(`run ${id} failed`);
  writeFileSync(
    fixtures,
    JSON.stringify({
      research: [{ agent: "Notes." }, { agent: "Better notes." }],
      implement: [{ agent: edit("docs/x.md") }, { agent: edit("src/trim.ts") }],
    }),
  );
  const retried = await cli("retry", id, "research", "--repo", repo, ...recorded);
  expect(retried.code).toBe(0);
  const second = await cli(...pass.map((arg) => arg.replace("<id>", id)), "--repo", repo, ...recorded);
  return { id, out: second.out, hint: retried.out };
}

describe("atomic-scrum retry > into a wait", () => {
  it("the same person's approval counts again in the retried round", async () => {
    const { id, out, hint } = await failThenRetry("approval: {}", ["approve", "<id>", "--by", "carol"], "");
    expect(hint).toContain(`atomic-scrum approve ${id}`);
    expect(out).toContain(`run ${id} succeeded`);
  });

  it("the retried round's cooldown is ended early by resume --no-wait, as the first round's was", async () => {
    const { id, out } = await failThenRetry(
      "wait: 2h",
      ["resume", "<id>", "--no-wait"],
      "cooldown over (fast-forwarded)",
    );
    expect(out).toContain("cooldown over (fast-forwarded)");
    expect(out).toContain(`run ${id} succeeded`);
  });
});
