import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: a retried run asks for its approval again in a new round. The same person's
// `atomic-scrum approve` must count in that round, not be taken for the failed round's approval.

const PIPELINE = `
name: reviewed
defaults:
  on_fail: { retries: 0, escalate: false }
phases:
  - id: research
    task: research
    prompt: "Study the issue: {{ issue.title }}"
    output: { artifact: "notes/{{ issue.number }}/research.md" }
  - id: plan-review
    approval: {}
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

describe("atomic-scrum retry > into an approval phase", () => {
  it("the same person's approval counts again in the retried round", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", PIPELINE);
    const fixtures = tempFile(
      "fixtures.json",
      JSON.stringify({ research: [{ agent: "Notes." }], implement: [{ agent: edit("docs/x.md") }] }),
    );
    const recorded = ["--provider", "recorded", "--fixtures", fixtures];
    const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded)).out);
    const first = await cli("approve", id, "--repo", repo, "--by", "carol", ...recorded);
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
    expect(retried.out).toContain(`atomic-scrum approve ${id}`);
    const second = await cli("approve", id, "--repo", repo, "--by", "carol", ...recorded);
    expect(second.out).toContain(`run ${id} succeeded`);
  });
});
