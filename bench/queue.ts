/**
 * Queue throughput on a real SQLite file (WAL, synchronous=FULL): how many jobs a second one
 * worker can enqueue, claim and complete. Prints figures; asserts nothing.
 *   npm run bench
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../src/store/database.js";
import { claim, complete, enqueue } from "../src/store/queue.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const dir = mkdtempSync(join(tmpdir(), "atomic-scrum-bench-"));
const db = openDatabase(join(dir, "bench.db"));
let now = Date.now();

let started = performance.now();
for (let i = 0; i < JOBS; i++)
  enqueue(db, { kind: "run", payload: { runId: `r${i}` }, idempotencyKey: `k${i}`, now });
const enqueueMs = performance.now() - started;

started = performance.now();
let done = 0;
for (;;) {
  const job = claim(db, { owner: "bench", leaseMs: 60_000, now: ++now });
  if (!job) break;
  complete(db, { jobId: job.id, token: job.token, now });
  done++;
}
const cycleMs = performance.now() - started;
db.close();
rmSync(dir, { recursive: true, force: true });

console.log(`queue: ${JOBS} jobs, synchronous=FULL`);
console.log(
  `  enqueue          ${(JOBS / (enqueueMs / 1000)).toFixed(0)} jobs/s (${(enqueueMs / JOBS).toFixed(3)} ms each)`,
);
console.log(
  `  claim + complete ${(done / (cycleMs / 1000)).toFixed(0)} jobs/s (${(cycleMs / done).toFixed(3)} ms each)`,
);
