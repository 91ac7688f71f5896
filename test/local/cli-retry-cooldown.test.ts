import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli as cli, issueFile } from "../helpers/cli.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 11, class 10: a retried run enters its cooldown again in a new round. `atomic-scrum resume
// --no-wait` ends a cooldown early; its event must carry the round (a round-0 timer is dropped in
// round 1 as stale) and its job key too (or it dedupes against the failed round's fast-forward).

const PIPELINE = `
name: cool
defaults:
  on_fail: { retries: 0, escalate: false }
phases:
  - id: research
    task: research
    prompt: "Study the issue: {{ issue.title }}"
    output: { artifact: "notes/{{ issue.number }}/research.md" }
  - id: cooldown
    wait: 2h
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

describe("atomic-scrum retry > into a cooldown", () => {
  it("the retried round's cooldown is ended early by resume --no-wait, as the first round's was", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", PIPELINE);
    const fixtures = tempFile(
      "fixtures.json",
      JSON.stringify({ research: [{ agent: "Notes." }], implement: [{ agent: edit("docs/x.md") }] }),
    );
    const recorded = ["--provider", "recorded", "--fixtures", fixtures];
    const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo, ...recorded)).out);
    const first = await cli("resume", id, "--repo", repo, "--no-wait", ...recorded);
    expect(first.out).toContain("cooldown over (fast-forwarded)");
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
    const second = await cli("resume", id, "--repo", repo, "--no-wait", ...recorded);
    expect(second.out).toContain("cooldown over (fast-forwarded)");
    expect(second.out).toContain(`run ${id} succeeded`);
  });
});
