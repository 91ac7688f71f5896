import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { formatTime } from "../../src/render/format.js";
import { saveBreaker } from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { captureIo } from "../helpers/io.js";
import { tempDir, tempRepo } from "../helpers/temp.js";

const MIN = 60_000;

async function breakers(...args: string[]) {
  const io = captureIo();
  const code = await main(["breakers", ...args], io);
  return { code, out: io.stdout, err: io.stderr.join("\n") };
}

describe("atomic-scrum breakers", () => {
  it("prints each breaker: task, tier, state, failures in the window, opened at, when it half-opens", async () => {
    const path = join(tempDir(), "app.db");
    const db = openDatabase(path);
    const now = Date.now();
    const openedAt = now - 5 * MIN;
    saveBreaker(
      db,
      "write",
      "fast",
      { state: "open", failures: [now - 7 * MIN, now - 6 * MIN, openedAt], openedAt },
      now,
    );
    saveBreaker(db, "code", "balanced", { state: "closed", failures: [now - 2 * 60 * MIN, now - MIN] }, now);
    saveBreaker(
      db,
      "review",
      "deep",
      {
        state: "half-open",
        failures: [],
        openedAt: now - 30 * MIN,
        trial: { key: "run-1/review/1", startedAt: now - MIN },
      },
      now,
    );
    saveBreaker(db, "research", "fast", { state: "open", failures: [], openedAt: now - 20 * MIN }, now);
    db.close();

    const result = await breakers("--db", path);
    expect(result.code).toBe(0);
    expect(result.out[0]).toBe(
      `breakers in ${path} (opens after 3 failure(s) within 1 h, lets a trial through after 15 min):`,
    );
    const rows = result.out.slice(1).map((line) => line.split(/ {2,}/));
    expect(rows).toEqual([
      ["TASK", "TIER", "STATE", "FAILURES", "OPENED AT", "HALF-OPENS"],
      [
        "research",
        "fast",
        "open",
        "0 in window",
        formatTime(now - 20 * MIN),
        "now: the next phase is the trial",
      ],
      ["write", "fast", "open", "3 in window", formatTime(openedAt), formatTime(openedAt + 15 * MIN)],
      ["code", "balanced", "closed", "1 in window", "—", "—"],
      [
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

  it("names the flag to fix when there is no database", async () => {
    const missing = join(tempDir(), "nope.db");
    const result = await breakers("--db", missing);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`no database at ${missing}: pass --db FILE`);
  });
});
