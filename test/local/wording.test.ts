import { describe, expect, it, vi } from "vitest";
import type { RunState } from "../../src/engine/types.js";
import { branchFor } from "../../src/local/issue-file.js";
import { nextSteps } from "../../src/local/next-steps.js";
import { summaryLines } from "../../src/local/progress-view.js";
import { describe as describeState } from "../../src/local/run-commands.js";
import { statusSentence, statusWords } from "../../src/render/format.js";
import type { RunRecord } from "../../src/store/runs.js";
import { runCli as cli, issueFile, runIdOf } from "../helpers/cli.js";
import { ISSUE, SMALL_PIPELINE } from "../helpers/local-run.js";
import { tempFile, tempRepo } from "../helpers/temp.js";

// Issue 12, item 12: text for people is built from the run's state in words ("it has succeeded",
// "waiting for approval"), never the state's internal name; the two token counts say what they
// count; branch names end on a whole word; an issue file without a number says what it gets.

const state = (status: RunState["status"], reason?: string): RunState =>
  ({
    status,
    step: "call",
    seq: 1,
    phaseIndex: 0,
    attempt: 1,
    totals: { tokens: 0, costUsd: 0 },
    ...(reason ? { reason } : {}),
  }) as RunState;

describe("a run's state in words", () => {
  it("every status has words, and none shows its internal name", () => {
    const statuses = [
      "running",
      "waiting",
      "awaiting_approval",
      "needs_human",
      "succeeded",
      "failed",
      "cancelled",
    ] as const;
    for (const status of statuses) {
      expect(statusWords(status)).not.toMatch(/_/);
      expect(statusSentence(status)).not.toMatch(/_|is succeeded|has already cancelled|has cancelled/);
    }
    expect(statusWords("awaiting_approval")).toBe("waiting for approval");
    expect(statusSentence("needs_human")).toBe("needs a person");
  });

  it("sentences read as English: it has succeeded, it was cancelled by bob", () => {
    expect(describeState(state("succeeded"))).toBe("it has succeeded");
    expect(describeState(state("cancelled", "cancelled by bob"))).toBe("it was cancelled by bob");
    expect(describeState(state("failed", 'phase "code" failed'))).toBe('it has failed (phase "code" failed)');
    expect(describeState(state("awaiting_approval"))).toBe("it is waiting for approval");
  });

  it("a command that stops while its run still runs (a retry due later) names no internal step", () => {
    const run = { id: "run-7-abcdef", branch: "b", pipeline: { phases: [] } } as unknown as RunRecord;
    const steps = nextSteps({ repoDir: "/r", cwd: "/r" });
    const lines = summaryLines({ state: state("running"), run }, { runsDir: "/r/runs", steps });
    expect(lines[0]).not.toMatch(/\bstep\b|\bcall\b/);
    expect(lines[0]).toContain("continue later with: atomic-scrum resume run-7-abcdef");
  });

  it("the CLI says so too: the status table, cancelling twice, approving a cancelled run, a cancel with no USER", async () => {
    vi.stubEnv("USER", "");
    vi.stubEnv("LOGNAME", "");
    try {
      const repo = tempRepo();
      const pipeline = tempFile("p.yml", SMALL_PIPELINE);
      const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo)).out);
      const status = await cli("status", id, "--repo", repo);
      expect(status.out).toContain("| human-review | 👀 waiting for approval |");
      expect(status.out).not.toContain("awaiting");
      const cancelled = await cli("cancel", id, "--repo", repo);
      expect(cancelled.out).toContain(`⛔ run ${id} was cancelled by a local user`);
      const twice = await cli("cancel", id, "--repo", repo);
      expect(twice.err).toBe(`atomic-scrum: run ${id} cannot be cancelled: it was cancelled by a local user`);
      const approve = await cli("approve", id, "--repo", repo);
      expect(approve.err).toBe(
        `atomic-scrum: run ${id} is not waiting for approval: it was cancelled by a local user`,
      );
      const list = await cli("status", "--repo", repo);
      expect(list.out).toMatch(new RegExp(`${id}\\s+small\\s+cancelled\\s+#7`));
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("who a local approval is by", () => {
  it("USER empty: the login name, as a cancel names it, never an empty name", async () => {
    vi.stubEnv("USER", "");
    vi.stubEnv("LOGNAME", "bob");
    try {
      const repo = tempRepo();
      const pipeline = tempFile("p.yml", SMALL_PIPELINE);
      const id = runIdOf((await cli("run", pipeline, "--issue", issueFile(), "--repo", repo)).out);
      const approved = await cli("approve", id, "--repo", repo);
      expect(approved.out).toContain("approved by bob");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("token counts", () => {
  it("the progress lines' agent and judges tokens add up to the phase's tokens in status", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const run = await cli("run", pipeline, "--issue", issueFile(), "--repo", repo);
    const number = (text: string | undefined) => Number((text ?? "").replace(/,/g, ""));
    const agent = number(/▸ research .*· agent ([\d,]+) tokens$/m.exec(run.out)?.[1]);
    const judges = number(/✓ research .*· judges ([\d,]+) tokens$/m.exec(run.out)?.[1]);
    expect(agent).toBeGreaterThan(0);
    expect(judges).toBeGreaterThan(0);
    const status = await cli("status", runIdOf(run.out), "--repo", repo);
    expect(status.out).toContain("| Tokens (agents + judges) |");
    const row = status.out.split("\n").find((line) => line.startsWith("| research |")) ?? "";
    expect(number(row.split("|")[6]?.trim())).toBe(agent + judges);
  });
});

describe("branch names and issue numbers", () => {
  it("a long title is cut after its last whole word", () => {
    const title = "Support trimming whitespace from configuration values everywhere";
    expect(branchFor({ ...ISSUE, title })).toBe("atomic-scrum/7-support-trimming-whitespace-from");
    expect(branchFor({ ...ISSUE, title: "a".repeat(60) })).toBe(`atomic-scrum/7-${"a".repeat(40)}`);
    expect(branchFor({ ...ISSUE, title: "Trim the input" }, "notes")).toBe(
      "atomic-scrum/7-notes-trim-the-input",
    );
  });

  it("an issue file without a number takes the next free local number, and says so", async () => {
    const repo = tempRepo();
    const pipeline = tempFile("p.yml", SMALL_PIPELINE);
    const first = tempFile("first.md", "# Trim the input\n\nInputs arrive with stray spaces.\n");
    const run1 = await cli("run", pipeline, "--issue", first, "--repo", repo);
    expect(run1.err).toContain(
      `${first} has no issue number: using #1, the next free local number (add \`number: 1\` front matter, or "number" in JSON, to keep one)`,
    );
    expect(run1.out).toContain('issue #1 "Trim the input"');
    await cli("run", pipeline, "--issue", issueFile(7), "--repo", repo);
    const second = tempFile("second.json", JSON.stringify({ title: "Parse dates" }));
    const run2 = await cli("run", pipeline, "--issue", second, "--repo", repo);
    expect(run2.err).toContain(`${second} has no issue number: using #8, the next free local number`);
    expect(run2.out).toContain('issue #8 "Parse dates"');
  });
});
