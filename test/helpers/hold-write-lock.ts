import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// The holder runs on another thread because better-sqlite3 is synchronous: a connection on this
// thread waiting on the lock (busy_timeout) blocks the event loop, so the holder could never let go.
const HOLDER = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
db.exec("BEGIN IMMEDIATE");
// A real write, so that a deferred transaction which read before this commit holds a stale snapshot.
db.exec("CREATE TABLE IF NOT EXISTS lock_holder (n INTEGER); INSERT INTO lock_holder VALUES (1)");
const signal = new Int32Array(workerData.signal);
Atomics.store(signal, 0, 1);
Atomics.notify(signal, 0);
Atomics.wait(signal, 1, 0, workerData.holdMs);
db.exec("COMMIT");
db.close();
`;

/**
 * Another connection takes the write lock of the SQLite file at `path`, writes, and commits after
 * `holdMs`: what a second `atomic-scrum run` on the same repository does. Returns once the lock is
 * held; `done` settles when the holder has committed.
 */
export function holdWriteLock(path: string, holdMs: number): { done: Promise<void> } {
  const signal = new SharedArrayBuffer(8);
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(HOLDER, { eval: true, workerData: { path, holdMs, signal, module } });
  const done = new Promise<void>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited ${code}`))));
  });
  // Blocks this thread until the holder has the lock (at most 10 s, then the test fails below).
  Atomics.wait(new Int32Array(signal), 0, 0, 10_000);
  if (Atomics.load(new Int32Array(signal), 0) !== 1) throw new Error("the lock holder never took the lock");
  return { done };
}
