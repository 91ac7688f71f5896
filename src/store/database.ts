import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { migrate, SchemaTooNewError } from "./migrations.js";

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
 * @throws DatabaseOpenError for any other reason the file cannot serve as the store (a directory,
 *   not a SQLite file, damaged, read-only, locked): one line naming the path and what to do.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database {
  let db: Database;
  try {
    if (path !== ":memory:") {
      assertNotDirectory(path);
      assertSqliteOrEmpty(path);
      mkdirSync(dirname(path), { recursive: true });
    }
    db = new BetterSqlite3(path);
  } catch (error) {
    throw openFailure(path, error);
  }
  try {
    configure(db, options.synchronous ?? "FULL");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw openFailure(path, error);
  }
}

/** Throws EISDIR for a directory: SQLite's own word for one is "unable to open database file". */
export function assertNotDirectory(path: string): void {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
  }
}

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Throws SQLITE_NOTADB for an existing, non-empty regular file that does not start with SQLite's
 * header. SQLite itself refuses most such files, but takes some short ones (a 1-byte file) for an
 * empty database and writes a new one over them: a mistyped `--db` would destroy the file.
 */
export function assertSqliteOrEmpty(path: string): void {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info?.isFile() || info.size === 0) return;
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_HEADER)) {
    throw Object.assign(new Error(`${path} is not a SQLite database`), { code: "SQLITE_NOTADB" });
  }
}

/** A database file that cannot be opened, said in one line with the fix. */
export class DatabaseOpenError extends Error {
  override name = "DatabaseOpenError";
  constructor(
    readonly path: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot open the database ${path}: ${reason}`, options);
  }
}

/**
 * What SQLite's and Node's codes mean for the person who gave the path. Codes are matched by
 * prefix: SQLite's extended codes (SQLITE_READONLY_DIRECTORY, SQLITE_IOERR_FSYNC) keep the family.
 */
const OPEN_FAILURES: [string, string][] = [
  ["EISDIR", "it is a directory: give the path of a database file (it is created if missing)"],
  [
    "SQLITE_NOTADB",
    "it is not a SQLite database (left untouched): give the path of an atomic-scrum database, or of a new file",
  ],
  ["SQLITE_CORRUPT", "the file is damaged: restore it from a backup, or give the path of a new file"],
  [
    "SQLITE_READONLY",
    "the file or its folder is read-only: atomic-scrum writes its database and a journal beside it",
  ],
  [
    "SQLITE_BUSY",
    "another process has held it locked for more than 5 s: stop that process, or wait and try again",
  ],
  ["SQLITE_CANTOPEN", "SQLite cannot open it: check that the path is a file in a folder you can write to"],
  [
    "SQLITE_IOERR",
    "a read or write failed (a device such as /dev/null, or a full disk?): give the path of a regular file",
  ],
  ["SQLITE_FULL", "the disk is full: free some space"],
  ["ENOTDIR", "a part of its folder path is a file, not a folder: check the path"],
  ["EEXIST", "a part of its folder path is a file, not a folder: check the path"],
  ["EACCES", "permission denied: give a path you can write to"],
  ["EPERM", "permission denied: give a path you can write to"],
  ["EROFS", "the file system is read-only: give a path on a writable one"],
];

/** The error to throw when `path` failed to open as a database: {@link DatabaseOpenError}, in words. */
export function openFailure(path: string, error: unknown): Error {
  if (error instanceof SchemaTooNewError) return error;
  const { code = "", message } = error as { code?: string; message: string };
  const known = OPEN_FAILURES.find(([prefix]) => code.startsWith(prefix))?.[1];
  return new DatabaseOpenError(path, known ?? message, { cause: error });
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
