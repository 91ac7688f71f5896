import type { Database } from "./database.js";

/**
 * Runs `work` in one IMMEDIATE transaction: the write lock is taken at BEGIN, where the busy
 * timeout can wait for another process to finish, and the transaction commits or rolls back whole.
 * Nested inside another transaction it becomes a savepoint of that one.
 *
 * Never a deferred transaction (better-sqlite3's plain `db.transaction(fn)()`): one that reads and
 * then writes holds a read snapshot when it asks for the lock, and if another connection wrote
 * meanwhile SQLite answers SQLITE_BUSY at once, which no timeout helps (issue 11: two runs
 * started together on one repository, one failed with "database is locked").
 * test/store/write-transactions.test.ts refuses any other way of starting a transaction in src/.
 */
export function writeTransaction<T>(db: Database, work: () => T): T {
  return db.transaction(work).immediate();
}
