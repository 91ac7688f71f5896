import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { migrate } from "./migrations.js";

/** A connection to the store. Synchronous: every query runs to completion before it returns. */
export type Database = BetterSqlite3.Database;

export interface OpenDatabaseOptions {
  /**
   * `FULL` (default) syncs the WAL on every commit, so a job or effect we acknowledged survives a
   * power cut. `NORMAL` can lose the last commits on power loss (never corrupts); for benches.
   */
  synchronous?: "FULL" | "NORMAL";
}

/**
 * Opens (creating it and its parent directory if needed) the SQLite file at `path`, configures the
 * connection and migrates the schema to the latest version.
 *
 * @throws SchemaTooNewError if the file was written by a newer atomic-scrum.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  try {
    configure(db, options.synchronous ?? "FULL");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function configure(db: Database, synchronous: "FULL" | "NORMAL"): void {
  // First, so that the pragmas below and the migrations wait for another process's lock instead
  // of failing with SQLITE_BUSY. (better-sqlite3's default is also 5 s; we say so ourselves.)
  db.pragma("busy_timeout = 5000");
  // WAL lets the webhook handler and readers carry on while a worker writes; the mode is stored in
  // the file, so this only does work the first time.
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  // A per-connection setting. better-sqlite3's bundled SQLite defaults it on, but a build against
  // another SQLite may not, and then references would go unchecked without a word.
  db.pragma("foreign_keys = ON");
}
