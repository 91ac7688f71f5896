import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { DEFAULT_BREAKER_SETTINGS } from "../../src/engine/breaker.js";
import {
  admitAttempt,
  countOutcome,
  getBreaker,
  listBreakers,
  saveBreaker,
} from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { MIGRATIONS, migrate, schemaVersion } from "../../src/store/migrations.js";
import { tempDir } from "../helpers/temp.js";

const T0 = Date.UTC(2026, 10, 23, 12);
const settings = DEFAULT_BREAKER_SETTINGS;

function fail(db: ReturnType<typeof openDatabase>, key: string, now: number): void {
  db.transaction(() =>
    countOutcome(db, { task: "write", tier: "fast" }, { result: "failure", key, now }, settings),
  ).immediate();
}

describe("breaker store", () => {
  it("has no row for a breaker that never counted anything", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    expect(getBreaker(db, "write", "fast")).toBeUndefined();
    expect(listBreakers(db)).toEqual([]);
    // A closed breaker that is asked creates nothing: the common path writes nothing.
    expect(
      admitAttempt(db, { task: "write", tier: "fast" }, { key: "r/p/1", now: T0 }, settings),
    ).toMatchObject({
      allowed: true,
      trial: false,
    });
    expect(listBreakers(db)).toEqual([]);
    db.close();
  });

  it("keeps an open breaker, its failures and its trial across closing and reopening the file", () => {
    const path = join(tempDir(), "store.db");
    const first = openDatabase(path);
    fail(first, "r1/p/1", T0);
    fail(first, "r2/p/1", T0 + 1000);
    fail(first, "r3/p/1", T0 + 2000);
    first.close();

    const second = openDatabase(path);
    expect(getBreaker(second, "write", "fast")).toEqual({
      task: "write",
      tier: "fast",
      state: "open",
      failures: [T0, T0 + 1000, T0 + 2000],
      openedAt: T0 + 2000,
      updatedAt: T0 + 2000,
    });
    const later = T0 + 2000 + settings.cooloffMs;
    expect(
      admitAttempt(second, { task: "write", tier: "fast" }, { key: "r4/p/1", now: later }, settings),
    ).toMatchObject({ allowed: true, trial: true });
    second.close();

    const third = openDatabase(path);
    expect(getBreaker(third, "write", "fast")).toMatchObject({
      state: "half-open",
      trial: { key: "r4/p/1", startedAt: later },
    });
    expect(
      admitAttempt(third, { task: "write", tier: "fast" }, { key: "r5/p/1", now: later + 1 }, settings),
    ).toMatchObject({ allowed: false, state: "half-open" });
    third.close();
  });

  it("keys breakers by task and tier, and lists them in the language's order", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    saveBreaker(db, "review", "deep", { state: "closed", failures: [T0] }, T0);
    saveBreaker(db, "write", "fast", { state: "closed", failures: [T0] }, T0);
    saveBreaker(db, "research", "balanced", { state: "open", failures: [T0], openedAt: T0 }, T0);
    saveBreaker(db, "write", "fast", { state: "closed", failures: [T0, T0 + 1] }, T0 + 1);
    expect(listBreakers(db).map((b) => `${b.task}/${b.tier}/${b.failures.length}`)).toEqual([
      "research/balanced/1",
      "write/fast/2",
      "review/deep/1",
    ]);
    expect(getBreaker(db, "write", "balanced")).toBeUndefined();
    db.close();
  });

  it("refuses a state that is not closed, open or half-open", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    expect(() => saveBreaker(db, "write", "fast", { state: "ajar" as "open", failures: [] }, T0)).toThrow(
      /CHECK constraint failed/,
    );
    db.close();
  });

  it("migration 3 rebuilds the breakers table of a version 2 file and keeps its rows", () => {
    const path = join(tempDir(), "old.db");
    const old = new BetterSqlite3(path);
    migrate(old, MIGRATIONS.slice(0, 2));
    old
      .prepare(
        "INSERT INTO breakers (task, tier, failures, state, opened_at, updated_at) VALUES ('code', 'fast', 4, 'open', ?, ?)",
      )
      .run(T0, T0);
    old.close();

    const db = openDatabase(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(getBreaker(db, "code", "fast")).toEqual({
      task: "code",
      tier: "fast",
      state: "open",
      failures: [],
      openedAt: T0,
      updatedAt: T0,
    });
    db.close();
  });
});
