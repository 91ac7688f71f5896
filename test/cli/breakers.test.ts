import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import type { Task, Tier } from "../../src/pipeline/schema.js";
import { formatTime } from "../../src/render/format.js";
import { listBreakers, saveBreaker } from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { captureIo } from "../helpers/io.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

const MIN = 60_000;

function haiku(task: Task, tier: Tier) {
  return { provider: "anthropic", model: "claude-haiku-5-5", task, tier };
}

async function breakers(...args: string[]) {
  const io = captureIo();
  const code = await main(["breakers", ...args], io);
  return { code, out: io.stdout, err: io.stderr.join("\n") };
}

const MODEL = ["anthropic", "claude-haiku-5-5"];

describe("atomic-scrum breakers", () => {
  it("prints each breaker: provider, model, task, tier, state, failures in the window, opened at, when it half-opens", async () => {
    const path = join(tempDir(), "app.db");
    const db = openDatabase(path);
    const now = Date.now();
    const openedAt = now - 5 * MIN;
    saveBreaker(
      db,
      haiku("write", "fast"),
      { state: "open", failures: [now - 7 * MIN, now - 6 * MIN, openedAt], openedAt },
      now,
    );
    saveBreaker(
      db,
      haiku("code", "balanced"),
      { state: "closed", failures: [now - 2 * 60 * MIN, now - MIN] },
      now,
    );
    saveBreaker(
      db,
      haiku("review", "deep"),
      {
        state: "half-open",
        failures: [],
        openedAt: now - 30 * MIN,
        trial: { key: "run-1/review/1", startedAt: now - MIN },
      },
      now,
    );
    saveBreaker(
      db,
      haiku("research", "fast"),
      { state: "open", failures: [], openedAt: now - 20 * MIN },
      now,
    );
    db.close();

    const result = await breakers("--db", path);
    expect(result.code).toBe(0);
    expect(result.out[0]).toBe(
      `breakers in ${path} (opens after 3 failure(s) within 1 h, lets a trial through after 15 min):`,
    );
    const rows = result.out.slice(1).map((line) => line.split(/ {2,}/));
    expect(rows).toEqual([
      ["PROVIDER", "MODEL", "TASK", "TIER", "STATE", "FAILURES", "OPENED AT", "HALF-OPENS"],
      [
        ...MODEL,
        "research",
        "fast",
        "open",
        "0 in window",
        formatTime(now - 20 * MIN),
        "now: the next phase is the trial",
      ],
      [
        ...MODEL,
        "write",
        "fast",
        "open",
        "3 in window",
        formatTime(openedAt),
        formatTime(openedAt + 15 * MIN),
      ],
      [...MODEL, "code", "balanced", "closed", "1 in window", "—", "—"],
      [
        ...MODEL,
        "review",
        "deep",
        "half-open",
        "0 in window",
        formatTime(now - 30 * MIN),
        `trial since ${formatTime(now - MIN)}`,
      ],
    ]);
  });

  it("reads the local repository's database by default, and says when every breaker is closed", async () => {
    const repo = tempRepo();
    openDatabase(join(repo, ".git", "atomic-scrum", "atomic-scrum.db")).close();
    const result = await breakers("--repo", repo);
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      `every breaker is closed: none has counted a failure yet (opens after 3 failure(s) within 1 h, lets a trial through after 15 min; ${join(repo, ".git", "atomic-scrum", "atomic-scrum.db")})`,
    ]);
  });

  it("a repository without runs yet has every breaker closed, and no database is created for it", async () => {
    const repo = tempRepo();
    const path = join(repo, ".git", "atomic-scrum", "atomic-scrum.db");
    const listed = await breakers("--repo", repo);
    expect(listed.code).toBe(0);
    expect(listed.out).toEqual([
      `every breaker is closed: none has counted a failure yet (opens after 3 failure(s) within 1 h, lets a trial through after 15 min; ${path})`,
    ]);
    const reset = await breakers("reset", "--repo", repo);
    expect(reset.code).toBe(0);
    expect(reset.out).toEqual([`no breaker to reset: every breaker is closed (${path})`]);
    expect(existsSync(path)).toBe(false);
  });

  it("names the flag to fix when there is no database", async () => {
    const missing = join(tempDir(), "nope.db");
    const result = await breakers("--db", missing);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`no database at ${missing}: pass --db FILE`);
  });

  describe("reset", () => {
    function seeded() {
      const path = join(tempDir(), "app.db");
      const db = openDatabase(path);
      const now = Date.now();
      const open = { state: "open" as const, failures: [now], openedAt: now };
      saveBreaker(db, haiku("write", "fast"), open, now);
      saveBreaker(db, haiku("code", "fast"), open, now);
      saveBreaker(
        db,
        { ...haiku("write", "fast"), provider: "simulated", model: "simulated-fast" },
        open,
        now,
      );
      db.close();
      const left = () => {
        const again = openDatabase(path);
        const names = listBreakers(again).map((b) => `${b.provider}/${b.model} ${b.task}/${b.tier}`);
        again.close();
        return names;
      };
      return { path, left };
    }

    it("closes only the breakers the filters match, and says how many it kept", async () => {
      const { path, left } = seeded();
      const result = await breakers("reset", "--db", path, "--provider", "simulated");
      expect(result.code).toBe(0);
      expect(result.out).toEqual([
        `reset 1 breaker(s) matching --provider simulated: closed again; 2 other(s) kept (${path})`,
      ]);
      expect(left()).toEqual([
        "anthropic/claude-haiku-5-5 write/fast",
        "anthropic/claude-haiku-5-5 code/fast",
      ]);
      // The database may be named before the subcommand, too.
      const narrowed = await breakers(
        "--db",
        path,
        "reset",
        "--model",
        "claude-haiku-5-5",
        "--task",
        "code",
        "--tier",
        "fast",
      );
      expect(narrowed.code).toBe(0);
      expect(left()).toEqual(["anthropic/claude-haiku-5-5 write/fast"]);
    });

    it("with no filter closes every breaker, after saying how many", async () => {
      const { path, left } = seeded();
      const result = await breakers("reset", "--db", path);
      expect(result.code).toBe(0);
      expect(result.out).toEqual([`reset every breaker: 3 forgotten, all closed again (${path})`]);
      expect(left()).toEqual([]);
      const again = await breakers("reset", "--db", path);
      expect(again.out).toEqual([`no breaker to reset: every breaker is closed (${path})`]);
    });

    it("fails on a filter that matches nothing, naming the breakers there are, and keeps them", async () => {
      const { path, left } = seeded();
      const result = await breakers("reset", "--db", path, "--model", "claude-haiku");
      expect(result.code).toBe(1);
      expect(result.err).toBe(
        `no breaker matches --model claude-haiku; the breakers in ${path} are: anthropic/claude-haiku-5-5 write at fast, anthropic/claude-haiku-5-5 code at fast, simulated/simulated-fast write at fast`,
      );
      expect(left()).toHaveLength(3);
    });

    it("refuses a tier or task that does not exist, with the choices", async () => {
      const { path } = seeded();
      const result = await breakers("reset", "--db", path, "--tier", "fastest");
      expect(result.code).toBe(1);
      expect(result.err).toContain("Allowed choices are fast, balanced, deep");
    });
  });
});
