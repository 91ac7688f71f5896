import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { DEFAULT_BREAKER_SETTINGS } from "../../src/engine/breaker.js";
import type { Task, Tier } from "../../src/pipeline/schema.js";
import {
  admitAttempt,
  countOutcome,
  getBreaker,
  listBreakers,
  resetBreakers,
  saveBreaker,
} from "../../src/store/breakers.js";
import { openDatabase } from "../../src/store/database.js";
import { MIGRATIONS, migrate, schemaVersion } from "../../src/store/migrations.js";
import { tempDir } from "../helpers/temp.js";

const T0 = Date.UTC(2026, 10, 23, 12);
const settings = DEFAULT_BREAKER_SETTINGS;

function key(task: Task, tier: Tier, provider = "anthropic", model = `claude-${tier}`) {
  return { provider, model, task, tier };
}
const WRITE_FAST = key("write", "fast");

function fail(db: ReturnType<typeof openDatabase>, key: string, now: number): void {
  db.transaction(() => countOutcome(db, WRITE_FAST, { result: "failure", key, now }, settings)).immediate();
}

describe("breaker store", () => {
  it("has no row for a breaker that never counted anything", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    expect(getBreaker(db, key("write", "fast"))).toBeUndefined();
    expect(listBreakers(db)).toEqual([]);
    // A closed breaker that is asked creates nothing: the common path writes nothing.
    expect(admitAttempt(db, WRITE_FAST, { key: "r/p/1", now: T0 }, settings)).toMatchObject({
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
    expect(getBreaker(second, key("write", "fast"))).toEqual({
      provider: "anthropic",
      model: "claude-fast",
      task: "write",
      tier: "fast",
      state: "open",
      failures: [T0, T0 + 1000, T0 + 2000],
      openedAt: T0 + 2000,
      updatedAt: T0 + 2000,
    });
    const later = T0 + 2000 + settings.cooloffMs;
    expect(admitAttempt(second, WRITE_FAST, { key: "r4/p/1", now: later }, settings)).toMatchObject({
      allowed: true,
      trial: true,
    });
    second.close();

    const third = openDatabase(path);
    expect(getBreaker(third, key("write", "fast"))).toMatchObject({
      state: "half-open",
      trial: { key: "r4/p/1", startedAt: later },
    });
    expect(admitAttempt(third, WRITE_FAST, { key: "r5/p/1", now: later + 1 }, settings)).toMatchObject({
      allowed: false,
      state: "half-open",
    });
    third.close();
  });

  it("keys breakers by provider, model, task and tier, and lists them in that order", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const haiku = (task: Task, tier: Tier) => key(task, tier, "anthropic", "claude-haiku-5-5");
    saveBreaker(db, haiku("review", "deep"), { state: "closed", failures: [T0] }, T0);
    saveBreaker(db, haiku("write", "fast"), { state: "closed", failures: [T0] }, T0);
    saveBreaker(db, haiku("research", "balanced"), { state: "open", failures: [T0], openedAt: T0 }, T0);
    saveBreaker(db, haiku("write", "fast"), { state: "closed", failures: [T0, T0 + 1] }, T0 + 1);
    // The same task and tier on the simulated provider, and on another model, are other breakers.
    saveBreaker(
      db,
      key("write", "fast", "simulated", "simulated-fast"),
      { state: "open", failures: [T0], openedAt: T0 },
      T0,
    );
    saveBreaker(
      db,
      key("write", "fast", "anthropic", "claude-sonnet-5-5"),
      { state: "closed", failures: [T0] },
      T0,
    );
    expect(
      listBreakers(db).map((b) => `${b.provider}/${b.model} ${b.task}/${b.tier}/${b.failures.length}`),
    ).toEqual([
      "anthropic/claude-haiku-5-5 research/balanced/1",
      "anthropic/claude-haiku-5-5 write/fast/2",
      "anthropic/claude-haiku-5-5 review/deep/1",
      "anthropic/claude-sonnet-5-5 write/fast/1",
      "simulated/simulated-fast write/fast/1",
    ]);
    expect(getBreaker(db, haiku("write", "fast"))?.state).toBe("closed");
    expect(getBreaker(db, key("write", "fast", "simulated", "simulated-fast"))?.state).toBe("open");
    expect(getBreaker(db, haiku("write", "balanced"))).toBeUndefined();
    db.close();
  });

  it("a simulated run's failures never open the breaker an anthropic run asks", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const simulated = key("write", "fast", "simulated", "simulated-fast");
    for (const [n, now] of [T0, T0 + 1, T0 + 2].entries())
      countOutcome(db, simulated, { result: "failure", key: `s${n}/p/1`, now }, settings);
    expect(getBreaker(db, simulated)?.state).toBe("open");
    expect(admitAttempt(db, WRITE_FAST, { key: "a/p/1", now: T0 + 3 }, settings)).toMatchObject({
      allowed: true,
      trial: false,
    });
    expect(getBreaker(db, WRITE_FAST)).toBeUndefined();
    db.close();
  });

  it("resets the breakers a filter matches, each field narrowing it, and all of them with none", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    const open = { state: "open" as const, failures: [T0], openedAt: T0 };
    saveBreaker(db, key("write", "fast", "anthropic", "claude-haiku-5-5"), open, T0);
    saveBreaker(db, key("code", "fast", "anthropic", "claude-haiku-5-5"), open, T0);
    saveBreaker(db, key("write", "balanced", "anthropic", "claude-sonnet-5-5"), open, T0);
    saveBreaker(db, key("write", "fast", "simulated", "simulated-fast"), open, T0);
    const names = () => listBreakers(db).map((b) => `${b.provider}/${b.model} ${b.task}/${b.tier}`);
    expect(resetBreakers(db, { provider: "gemini" })).toBe(0);
    expect(resetBreakers(db, { provider: "anthropic", task: "write", tier: "fast" })).toBe(1);
    expect(names()).toEqual([
      "anthropic/claude-haiku-5-5 code/fast",
      "anthropic/claude-sonnet-5-5 write/balanced",
      "simulated/simulated-fast write/fast",
    ]);
    expect(resetBreakers(db, { model: "claude-sonnet-5-5" })).toBe(1);
    expect(resetBreakers(db, { tier: "fast" })).toBe(2);
    saveBreaker(db, key("write", "fast"), open, T0);
    saveBreaker(db, key("review", "deep"), open, T0);
    expect(resetBreakers(db)).toBe(2);
    expect(listBreakers(db)).toEqual([]);
    db.close();
  });

  it("refuses a state that is not closed, open or half-open", () => {
    const db = openDatabase(join(tempDir(), "store.db"));
    expect(() =>
      saveBreaker(db, key("write", "fast"), { state: "ajar" as "open", failures: [] }, T0),
    ).toThrow(/CHECK constraint failed/);
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
    migrate(old, MIGRATIONS.slice(0, 3));
    expect(old.prepare("SELECT * FROM breakers").all()).toEqual([
      {
        task: "code",
        tier: "fast",
        state: "open",
        failures: "[]",
        opened_at: T0,
        trial_key: null,
        trial_started_at: null,
        updated_at: T0,
      },
    ]);
    old.close();
  });

  it("migration 7 drops the breakers of a version 6 file: they mixed every provider, offline ones too", () => {
    const path = join(tempDir(), "v6.db");
    const old = new BetterSqlite3(path);
    migrate(old, MIGRATIONS.slice(0, 6));
    old
      .prepare(
        `INSERT INTO breakers (task, tier, state, failures, opened_at, updated_at)
         VALUES ('write', 'fast', 'open', ?, ?, ?)`,
      )
      .run(JSON.stringify([T0, T0, T0]), T0, T0);
    old.close();

    const db = openDatabase(path);
    expect(schemaVersion(db)).toBe(7);
    // No run asks a breaker that has no provider: an open one would never close, so it is gone.
    expect(listBreakers(db)).toEqual([]);
    saveBreaker(db, WRITE_FAST, { state: "closed", failures: [T0] }, T0);
    expect(getBreaker(db, WRITE_FAST)?.failures).toEqual([T0]);
    db.close();
  });
});
