import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import { MIGRATIONS, migrate, SchemaTooNewError, schemaVersion } from "../../src/store/migrations.js";

let dir: string;
let open: Database[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "atomic-scrum-db-"));
  open = [];
});

afterEach(() => {
  for (const db of open) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function openTracked(path: string, options?: Parameters<typeof openDatabase>[1]): Database {
  const db = openDatabase(path, options);
  open.push(db);
  return db;
}

function tableNames(db: Database): string[] {
  return db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((row) => row.name);
}

describe("database", () => {
  describe("opening a new file", () => {
    it("creates the file and its missing parent directories", () => {
      const db = openTracked(join(dir, "nested", "deeper", "store.db"));
      expect(db.name).toBe(join(dir, "nested", "deeper", "store.db"));
      expect(tableNames(db)).toContain("jobs");
    });

    it("uses WAL, synchronous FULL, foreign keys and a 5 s busy timeout", () => {
      const db = openTracked(join(dir, "store.db"));
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(db.pragma("busy_timeout", { simple: true })).toBe(5000);
    });

    it("uses synchronous NORMAL when asked", () => {
      const db = openTracked(join(dir, "store.db"), { synchronous: "NORMAL" });
      expect(db.pragma("synchronous", { simple: true })).toBe(1); // NORMAL
    });

    it("leaves the file in WAL mode for any later connection", () => {
      openTracked(join(dir, "store.db")).close();
      const raw = new BetterSqlite3(join(dir, "store.db"));
      try {
        expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      } finally {
        raw.close();
      }
    });
  });

  describe("migrations", () => {
    it("bring a new database to the latest version with every table", () => {
      const db = openTracked(join(dir, "store.db"));
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(tableNames(db)).toEqual([
        "breakers",
        "check_runs",
        "deliveries",
        "effects",
        "events",
        "jobs",
        "phase_attempts",
        "reply_claims",
        "runs",
      ]);
    });

    it("are idempotent across reopen and keep the data", () => {
      const path = join(dir, "store.db");
      const first = openTracked(path);
      first.prepare("INSERT INTO deliveries (id, event, received_at) VALUES ('d1', 'issues', 1)").run();
      first.close();

      const second = openTracked(path);
      expect(migrate(second)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
      expect(second.prepare("SELECT id FROM deliveries").all()).toEqual([{ id: "d1" }]);
    });

    it("refuse a database written by a newer version, naming the file and both versions", () => {
      const path = join(dir, "store.db");
      const db = openTracked(path);
      db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      db.close();

      expect(() => openTracked(path)).toThrow(SchemaTooNewError);
      expect(() => openTracked(path)).toThrow(
        `${path} has schema version ${MIGRATIONS.length + 1}, but this atomic-scrum only knows versions up to ${MIGRATIONS.length}`,
      );
    });

    it("roll back a migration that fails halfway, version and all", () => {
      const db = openTracked(join(dir, "store.db"));
      const broken = {
        version: MIGRATIONS.length + 1,
        name: "broken",
        sql: "CREATE TABLE extra (x); CREATE TABLE runs (x);",
      };

      expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow(/table runs already exists/);
      expect(schemaVersion(db)).toBe(MIGRATIONS.length);
      expect(tableNames(db)).not.toContain("extra");
    });

    it("refuse a list whose versions do not go up by one from 1", () => {
      const db = openTracked(join(dir, "store.db"));
      const skipping = [...MIGRATIONS, { version: MIGRATIONS.length + 2, name: "skips", sql: "" }];

      expect(() => migrate(db, skipping)).toThrow(/has version \d+, expected \d+/);
    });
  });

  describe("events", () => {
    function withOneEvent(): Database {
      const db = openTracked(join(dir, "store.db"));
      db.prepare("INSERT INTO events (run_id, type, data, at) VALUES ('r1', 'run.started', '{}', 1)").run();
      return db;
    }

    it("can be appended", () => {
      const db = withOneEvent();
      db.prepare("INSERT INTO events (run_id, type, data, at) VALUES ('r1', 'phase.started', '{}', 2)").run();
      expect(db.prepare("SELECT count(*) AS n FROM events").get()).toEqual({ n: 2 });
    });

    it("cannot be updated", () => {
      const db = withOneEvent();
      expect(() => db.prepare("UPDATE events SET type = 'forged'").run()).toThrow("events are append-only");
      expect(db.prepare("SELECT type FROM events").all()).toEqual([{ type: "run.started" }]);
    });

    it("cannot be deleted", () => {
      const db = withOneEvent();
      expect(() => db.prepare("DELETE FROM events").run()).toThrow("events are append-only");
      expect(db.prepare("SELECT count(*) AS n FROM events").get()).toEqual({ n: 1 });
    });

    it("cannot be overwritten by INSERT OR REPLACE", () => {
      const db = withOneEvent();
      expect(() =>
        db
          .prepare(
            "INSERT OR REPLACE INTO events (id, run_id, type, data, at) VALUES (1, 'r1', 'forged', '{}', 1)",
          )
          .run(),
      ).toThrow("events are append-only");
      expect(db.prepare("SELECT id, type FROM events").all()).toEqual([{ id: 1, type: "run.started" }]);
    });
  });

  describe("constraints", () => {
    it("refuse a phase attempt for a run that does not exist", () => {
      const db = openTracked(join(dir, "store.db"));
      expect(() =>
        db
          .prepare(
            "INSERT INTO phase_attempts (run_id, phase_id, attempt, state) VALUES ('nope', 'plan', 1, 'running')",
          )
          .run(),
      ).toThrow(/FOREIGN KEY constraint failed/);
    });

    it("refuse a fractional timestamp", () => {
      const db = openTracked(join(dir, "store.db"));
      expect(() =>
        db.prepare("INSERT INTO deliveries (id, event, received_at) VALUES ('d1', 'issues', ?)").run(1.5),
      ).toThrow(/cannot store REAL value in INTEGER column/);
    });
  });
});
