import { existsSync } from "node:fs";
import BetterSqlite3 from "better-sqlite3";
import type { BreakerKey } from "../../engine/breaker.js";
import { attemptStats } from "../../store/attempt-stats.js";
import { type BreakerRecord, listBreakers } from "../../store/breakers.js";
import { assertNotDirectory, type Database, openFailure } from "../../store/database.js";
import { MIGRATIONS, schemaVersion } from "../../store/migrations.js";

/** Graded and failed attempts of one (provider, model, task, tier). */
export interface Graded {
  graded: number;
  failed: number;
}

/**
 * What the database has seen: graded attempts by {@link historyKey} (provider, model, task and
 * tier), the breakers, and where that came from.
 */
export interface History {
  graded: Map<string, Graded>;
  breakers: BreakerRecord[];
  note: string;
}

/** How history and open breakers are looked up: `anthropic/claude-haiku-5-5/write/fast`. */
export function historyKey(key: BreakerKey): string {
  return `${key.provider}/${key.model}/${key.task}/${key.tier}`;
}

/**
 * Graded attempts and the breakers, read from the database without writing to it: no file is
 * created when there is none, and an older schema is left for a real command to migrate.
 */
export function readHistory(path: string): History {
  const empty = { graded: new Map(), breakers: [] };
  if (!existsSync(path)) return { ...empty, note: `no database at ${path}: every rate is a default` };
  let db: Database | undefined;
  let version: number;
  try {
    assertNotDirectory(path);
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    version = schemaVersion(db);
  } catch (error) {
    db?.close();
    throw openFailure(path, error);
  }
  try {
    if (version !== MIGRATIONS.length) {
      return {
        ...empty,
        note: `${path} has schema version ${version}, not ${MIGRATIONS.length}: not read (any other command migrates it)`,
      };
    }
    return historyOf(db, `history from ${path}`);
  } finally {
    db.close();
  }
}

/** Graded attempts per (provider, model, task, tier) and the breakers of an open, migrated database (the app's own, say). */
export function historyOf(db: Database, note: string): History {
  const graded = new Map<string, Graded>();
  for (const row of attemptStats(db)) {
    graded.set(historyKey(row as BreakerKey), { graded: row.graded, failed: row.failed });
  }
  return { graded, breakers: listBreakers(db), note };
}
