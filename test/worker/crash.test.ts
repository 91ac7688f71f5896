import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { approveRun } from "../../src/local/run-commands.js";
import { createSimulatedProvider } from "../../src/providers/simulated.js";
import { getRun, listEvents } from "../../src/store/runs.js";
import { WorkerStopped } from "../../src/worker/worker.js";
import { type CrashPoint, counting, manualClock, openApp, start } from "../helpers/local-run.js";
import { git, tempRepo } from "../helpers/temp.js";

const POINTS: (CrashPoint & { label: string })[] = [
  { kind: "call_agent", when: "beforeRecord", label: "after the model call, before it is recorded" },
  { kind: "call_agent", when: "afterRecord", label: "after the model call, before the commit" },
  { kind: "evaluate_gates", when: "afterRecord", label: "after judging, before the commit" },
  { kind: "commit", when: "beforeRecord", label: "after the commit, before it is recorded" },
  { kind: "commit", when: "afterRecord", label: "after the commit, before the comment" },
  { kind: "comment", when: "beforeRecord", label: "after the comment, before it is recorded" },
];

describe("a worker killed in the middle of a phase", () => {
  for (const point of POINTS) {
    it(`${point.label} (${point.kind}, ${point.when}): a new worker finishes the run with no duplicate commit or comment`, async () => {
      const repo = tempRepo();
      const clock = manualClock();
      const provider = counting(createSimulatedProvider());
      let crashed = 0;
      const first = openApp(repo, {
        provider,
        now: clock.now,
        hooks: {
          [point.when]: (effect: { kind: string; phaseId?: string }) => {
            if (effect.kind === point.kind && effect.phaseId === "implement" && crashed++ === 0)
              throw new WorkerStopped("killed");
          },
        },
      });
      const run = start(first, undefined);
      await expect(first.worker.runUntilIdle()).rejects.toThrow(WorkerStopped);
      first.close();
      expect(crashed).toBe(1);

      // A new process: new connection to the same file, new owner; the old lease has expired.
      clock.advance(31_000);
      const second = openApp(repo, { provider, now: clock.now });
      await second.worker.runUntilIdle();
      expect(getRun(second.db, run.id)?.state.status).toBe("awaiting_approval");
      approveRun(second, getRun(second.db, run.id) ?? run, "alice");
      await second.worker.runUntilIdle();
      expect(getRun(second.db, run.id)?.state.status).toBe("succeeded");

      const log = git(repo, "log", "--format=%s%n%b%x00", `main..${run.branch}`)
        .split("\0")
        .filter((c) => c.trim());
      expect(log).toHaveLength(2);
      const keys = log.map((c) => /Atomic-Scrum-Key: (\S+)/.exec(c)?.[1]);
      expect(new Set(keys).size).toBe(2);
      expect(readdirSync(join(second.runsDir, run.id, "comments")).sort()).toEqual([
        "01-research.md",
        "02-implement.md",
      ]);

      const events = listEvents(second.db, run.id).map((e) => e.type);
      expect(events.filter((t) => t === "phase.committed")).toHaveLength(2);
      expect(events.filter((t) => t === "phase.commented")).toHaveLength(2);
      // The model's answer is kept the moment it arrives: no crash point makes it called twice.
      expect(provider.calls.agent).toBe(2);
      expect(git(repo, "status", "--porcelain")).toBe("");
      second.close();
    });
  }
});
