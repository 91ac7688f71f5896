import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import {
  assertLease,
  backoffDelay,
  type ClaimedJob,
  claim,
  complete,
  enqueue,
  fail,
  getJob,
  heartbeat,
  type Job,
  LeaseLostError,
  listJobs,
  nextRunAt,
  reclaimExpired,
  release,
} from "../../src/store/queue.js";

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

let dir: string;
let path: string;
let db: Database;
let extra: Database[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "atomic-scrum-queue-"));
  path = join(dir, "store.db");
  db = openDatabase(path);
  extra = [];
});

afterEach(() => {
  for (const other of extra) other.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A second worker's own connection to the same file. */
function connect(): Database {
  const other = openDatabase(path);
  extra.push(other);
  return other;
}

function add(
  key: string,
  options: { runAt?: number; maxAttempts?: number; kind?: string; now?: number } = {},
): Job {
  const { now = T0, kind = "run", ...rest } = options;
  return enqueue(db, { kind, payload: { key }, idempotencyKey: key, now, ...rest }).job;
}

function take(owner: string, now = T0, on: Database = db): ClaimedJob {
  const job = claim(on, { owner, leaseMs: LEASE, now });
  if (!job) throw new Error(`${owner} found nothing to claim at T0+${now - T0}`);
  return job;
}

describe("queue", () => {
  describe("enqueue", () => {
    it("stores a queued job, due now, with 5 attempts and its payload", () => {
      const { job, created } = enqueue(db, {
        kind: "run",
        payload: { issue: 7, labels: ["bug"] },
        idempotencyKey: "delivery-1",
        now: T0,
      });

      expect(created).toBe(true);
      expect(getJob(db, job.id)).toMatchObject({
        kind: "run",
        payload: { issue: 7, labels: ["bug"] },
        idempotencyKey: "delivery-1",
        state: "queued",
        runAt: T0,
        attempts: 0,
        maxAttempts: 5,
        fencingToken: 0,
        leaseOwner: null,
        createdAt: T0,
      });
    });

    describe("a duplicate idempotency key", () => {
      it("returns the existing job unchanged and creates no second one", () => {
        const first = add("delivery-1");
        const again = enqueue(db, {
          kind: "other",
          payload: { different: true },
          idempotencyKey: "delivery-1",
          runAt: T0 + 5_000,
          now: T0 + 1,
        });

        expect(again).toEqual({ job: first, created: false });
        expect(listJobs(db)).toEqual([first]);
      });
    });

    it("refuses a payload that is not JSON", () => {
      expect(() => enqueue(db, { kind: "run", payload: undefined, idempotencyKey: "k", now: T0 })).toThrow(
        TypeError,
      );
      expect(listJobs(db)).toEqual([]);
    });
  });

  describe("claim", () => {
    it("leases the job to the worker, counts the attempt and bumps the fencing token", () => {
      const job = add("a");
      const claimed = take("worker-1");

      expect(claimed).toMatchObject({
        id: job.id,
        state: "running",
        leaseOwner: "worker-1",
        leaseExpiresAt: T0 + LEASE,
        attempts: 1,
        fencingToken: 1,
        token: 1,
      });
      expect(getJob(db, job.id)).toMatchObject({ state: "running", leaseOwner: "worker-1", fencingToken: 1 });
    });

    it("takes the earliest run_at first, then the oldest job", () => {
      const later = add("later", { runAt: T0 - 10 });
      const earliest = add("earliest", { runAt: T0 - 20 });
      const tiedOlder = add("tied-older", { runAt: T0 - 10 });

      expect([take("w").id, take("w").id, take("w").id]).toEqual([earliest.id, later.id, tiedOlder.id]);
    });

    it("returns undefined when nothing is due", () => {
      expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 })).toBeUndefined();
    });

    it("only takes the kinds asked for", () => {
      add("a-run", { kind: "run" });
      const sweep = add("a-sweep", { kind: "sweep" });

      expect(take("w", T0, db).id).not.toBe(sweep.id);
      expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0, kinds: ["run"] })).toBeUndefined();
      expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0, kinds: ["sweep"] })?.id).toBe(sweep.id);
    });

    describe("a job with run_at in the future", () => {
      it("is not claimed until it is due", () => {
        const job = add("later", { runAt: T0 + 1_000 });

        expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 })).toBeUndefined();
        expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 + 999 })).toBeUndefined();
        expect(take("w", T0 + 1_000).id).toBe(job.id);
      });
    });

    describe("two workers on separate connections", () => {
      it("never hold the same job", () => {
        const ids = Array.from({ length: 50 }, (_, i) => add(`job-${i}`).id);
        const workers = [
          { name: "a", db: connect(), got: [] as number[] },
          { name: "b", db: connect(), got: [] as number[] },
        ];

        for (let turn = 0, idle = 0; idle < workers.length; turn++) {
          const worker = workers[turn % workers.length];
          if (!worker) throw new Error("unreachable");
          const job = claim(worker.db, { owner: worker.name, leaseMs: LEASE, now: T0 + turn });
          if (job) worker.got.push(job.id);
          idle = job ? 0 : idle + 1;
        }

        const all = workers.flatMap((worker) => worker.got);
        expect(all.toSorted((x, y) => x - y)).toEqual(ids);
        expect(workers.map((worker) => worker.got.length)).toEqual([25, 25]);
        expect(listJobs(db).map((job) => job.attempts)).toEqual(ids.map(() => 1));
      });
    });

    it("holds the write lock from choosing a job to taking it, so a rival claim in between must wait", () => {
      const job = add("a");
      const rival = connect();
      rival.pragma("busy_timeout = 0"); // fail at once instead of waiting, so the test can see it
      let rivalResult: unknown;
      const choosing = interposeBeforeTaking(db, () => {
        try {
          rivalResult = claim(rival, { owner: "rival", leaseMs: LEASE, now: T0 });
        } catch (error) {
          rivalResult = error;
        }
      });

      expect(claim(choosing, { owner: "first", leaseMs: LEASE, now: T0 })?.id).toBe(job.id);
      expect(rivalResult).toMatchObject({ code: "SQLITE_BUSY" });
      expect(getJob(db, job.id)).toMatchObject({ leaseOwner: "first", attempts: 1 });
    });

    describe("three worker processes racing on one file", () => {
      it("claim every job exactly once", async () => {
        const ids = Array.from({ length: 300 }, (_, i) => add(`job-${i}`).id);

        const got = await raceWorkers(path, ["p1", "p2", "p3"]);

        expect(got.flat().toSorted((x, y) => x - y)).toEqual(ids);
        // The processes took turns, so the claims above did race.
        expect(got.map((claimed) => claimed.length > 0)).toEqual([true, true, true]);
      });
    });
  });

  describe("an expired lease", () => {
    it("is claimed by another worker, with a new token", () => {
      const job = add("a");
      const first = take("worker-1");
      const other = connect();

      expect(claim(other, { owner: "worker-2", leaseMs: LEASE, now: T0 + LEASE - 1 })).toBeUndefined();
      const second = take("worker-2", T0 + LEASE, other);

      expect(second).toMatchObject({
        id: job.id,
        leaseOwner: "worker-2",
        attempts: 2,
        token: first.token + 1,
      });
    });

    it("is queued again by reclaimExpired, keeping its token, while live leases stay", () => {
      const expired = add("expired");
      take("crashed", T0);
      const live = add("live");
      take("alive", T0 + 10);

      expect(reclaimExpired(db, T0 + LEASE)).toBe(1);
      expect(getJob(db, expired.id)).toMatchObject({
        state: "queued",
        leaseOwner: null,
        leaseExpiresAt: null,
        fencingToken: 1,
        attempts: 1,
      });
      expect(getJob(db, live.id)).toMatchObject({ state: "running", leaseOwner: "alive" });
    });

    it("is taken in run_at order along with queued jobs", () => {
      const expiredFirst = add("expired-first", { runAt: T0 - 30 });
      take("crashed", T0);
      const expiredLast = add("expired-last", { runAt: T0 - 10 });
      take("crashed", T0);
      const queuedBetween = add("queued-between", { runAt: T0 - 20 });

      const order = [1, 2, 3].map(() => take("w", T0 + LEASE).id);
      expect(order).toEqual([expiredFirst.id, queuedBetween.id, expiredLast.id]);
    });

    describe("on the job's last attempt", () => {
      it("dead-letters the job instead of claiming it again", () => {
        const job = add("poison", { maxAttempts: 1 });
        take("crashed");

        expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 + LEASE })).toBeUndefined();
        expect(getJob(db, job.id)).toMatchObject({
          state: "dead",
          lastError: expect.stringMatching(/lease expired/),
        });
      });

      it("is dead-lettered by reclaimExpired", () => {
        const job = add("poison", { maxAttempts: 1 });
        take("crashed");

        expect(reclaimExpired(db, T0 + LEASE)).toBe(1);
        expect(getJob(db, job.id)?.state).toBe("dead");
      });
    });
  });

  describe("a stale fencing token", () => {
    /** worker-1's lease expired and worker-2 took the job over. */
    function takenOver(): { stale: ClaimedJob; current: ClaimedJob } {
      add("a");
      const stale = take("worker-1", T0);
      const current = take("worker-2", T0 + LEASE);
      return { stale, current };
    }

    it("cannot complete the job", () => {
      const { stale, current } = takenOver();

      expect(() => complete(db, { jobId: stale.id, token: stale.token, now: T0 + LEASE + 1 })).toThrow(
        LeaseLostError,
      );
      expect(getJob(db, stale.id)).toMatchObject({
        state: "running",
        leaseOwner: "worker-2",
        fencingToken: current.token,
      });
    });

    it("cannot fail the job", () => {
      const { stale } = takenOver();
      const before = getJob(db, stale.id);

      expect(() =>
        fail(db, { jobId: stale.id, token: stale.token, error: "boom", now: T0 + LEASE + 1 }),
      ).toThrow(LeaseLostError);
      expect(getJob(db, stale.id)).toEqual(before);
    });

    it("cannot heartbeat", () => {
      const { stale } = takenOver();
      const before = getJob(db, stale.id);

      expect(
        heartbeat(db, { jobId: stale.id, token: stale.token, leaseMs: LEASE * 10, now: T0 + LEASE + 1 }),
      ).toBe(false);
      expect(getJob(db, stale.id)).toEqual(before);
    });

    it("cannot release the job", () => {
      const { stale } = takenOver();
      const before = getJob(db, stale.id);

      expect(() =>
        release(db, { jobId: stale.id, token: stale.token, runAt: T0, now: T0 + LEASE + 1 }),
      ).toThrow(LeaseLostError);
      expect(getJob(db, stale.id)).toEqual(before);
    });

    it("fails assertLease, rolling back the writes of the caller's transaction", () => {
      const { stale, current } = takenOver();
      const writeResult = (token: number, key: string) =>
        db.transaction(() => {
          db.prepare(
            "INSERT INTO effects (key, run_id, kind, result, done_at) VALUES (?, 'r1', 'comment', '{}', 1)",
          ).run(key);
          assertLease(db, stale.id, token);
        })();

      expect(() => writeResult(stale.token, "from-stale")).toThrow(
        `job ${stale.id}: lease with fencing token ${stale.token} is lost (the job was claimed again, with token ${current.token})`,
      );
      writeResult(current.token, "from-current");
      expect(db.prepare("SELECT key FROM effects").all()).toEqual([{ key: "from-current" }]);
    });

    it("cannot complete a job that reclaimExpired queued again", () => {
      add("a");
      const stale = take("worker-1");
      reclaimExpired(db, T0 + LEASE);

      expect(() => complete(db, { jobId: stale.id, token: stale.token, now: T0 + LEASE })).toThrow(
        /the job is queued/,
      );
      expect(getJob(db, stale.id)?.state).toBe("queued");
    });

    describe("while the new holder", () => {
      it("can heartbeat and complete the job", () => {
        const { current } = takenOver();

        expect(
          heartbeat(db, { jobId: current.id, token: current.token, leaseMs: LEASE, now: T0 + LEASE + 5 }),
        ).toBe(true);
        complete(db, { jobId: current.id, token: current.token, now: T0 + LEASE + 6 });
        expect(getJob(db, current.id)).toMatchObject({
          state: "done",
          leaseOwner: null,
          updatedAt: T0 + LEASE + 6,
        });
      });

      it("can fail the job", () => {
        const { current } = takenOver();

        expect(
          fail(db, { jobId: current.id, token: current.token, error: "boom", now: T0 + LEASE }).state,
        ).toBe("queued");
      });

      it("can release the job", () => {
        const { current } = takenOver();

        release(db, { jobId: current.id, token: current.token, runAt: T0 + LEASE, now: T0 + LEASE });
        expect(getJob(db, current.id)?.state).toBe("queued");
      });
    });
  });

  describe("heartbeat", () => {
    it("extends the lease from now, so no other worker can take the job meanwhile", () => {
      add("a");
      const job = take("worker-1");

      expect(heartbeat(db, { jobId: job.id, token: job.token, leaseMs: LEASE, now: T0 + LEASE - 1 })).toBe(
        true,
      );
      expect(getJob(db, job.id)?.leaseExpiresAt).toBe(T0 + 2 * LEASE - 1);
      expect(claim(connect(), { owner: "worker-2", leaseMs: LEASE, now: T0 + LEASE + 1 })).toBeUndefined();
    });

    it("fails for a job that is done", () => {
      add("a");
      const job = take("worker-1");
      complete(db, { jobId: job.id, token: job.token, now: T0 + 1 });

      expect(heartbeat(db, { jobId: job.id, token: job.token, leaseMs: LEASE, now: T0 + 2 })).toBe(false);
    });
  });

  describe("complete", () => {
    it("marks the job done and clears the lease; it is never claimed again", () => {
      const { id } = add("a");
      const job = take("w");

      complete(db, { jobId: job.id, token: job.token, now: T0 + 1 });

      expect(getJob(db, id)).toMatchObject({ state: "done", leaseOwner: null, leaseExpiresAt: null });
      expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 + 10 * LEASE })).toBeUndefined();
    });
  });

  describe("fail", () => {
    it("records the error, clears the lease and queues the job after the base delay", () => {
      const { id } = add("a");
      const job = take("w");

      expect(fail(db, { jobId: job.id, token: job.token, error: "provider 529", now: T0 + 100 })).toEqual({
        state: "queued",
        runAt: T0 + 100 + 1_000,
      });
      expect(getJob(db, id)).toMatchObject({
        state: "queued",
        runAt: T0 + 1_100,
        lastError: "provider 529",
        leaseOwner: null,
        leaseExpiresAt: null,
        attempts: 1,
      });
    });

    it("backs off by doubling delays, capped at maxMs", () => {
      add("a", { maxAttempts: 7 });
      const backoff = { baseMs: 100, maxMs: 1_000 };
      const delays: number[] = [];
      let now = T0;
      for (let attempt = 1; attempt < 7; attempt++) {
        const job = take("w", now);
        const result = fail(db, { jobId: job.id, token: job.token, error: "boom", now, backoff });
        if (result.runAt === undefined) throw new Error(`attempt ${attempt} was dead-lettered`);
        delays.push(result.runAt - now);
        now = result.runAt;
      }

      expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    });

    it("by default backs off from 1 s, doubling up to 5 min", () => {
      expect([1, 2, 3, 8, 9, 10, 50].map((attempts) => backoffDelay(attempts))).toEqual([
        1_000, 2_000, 4_000, 128_000, 256_000, 300_000, 300_000,
      ]);
    });

    describe("after maxAttempts", () => {
      it("dead-letters the job, which is never claimed again", () => {
        const { id } = add("a", { maxAttempts: 3 });
        const states: string[] = [];
        let now = T0;
        for (let attempt = 1; attempt <= 3; attempt++) {
          const job = take("w", now);
          const result = fail(db, { jobId: job.id, token: job.token, error: `boom ${attempt}`, now });
          states.push(result.state);
          now = result.runAt ?? now;
        }

        expect(states).toEqual(["queued", "queued", "dead"]);
        expect(getJob(db, id)).toMatchObject({
          state: "dead",
          attempts: 3,
          lastError: "boom 3",
          leaseOwner: null,
        });
        expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 + 365 * 24 * 3_600_000 })).toBeUndefined();
        expect(reclaimExpired(db, T0 + 365 * 24 * 3_600_000)).toBe(0);
        expect(listJobs(db, { state: "dead" }).map((job) => job.id)).toEqual([id]);
      });
    });
  });

  describe("release", () => {
    it("queues the job at runAt without counting the attempt", () => {
      const { id } = add("a", { maxAttempts: 1 });
      const job = take("w");

      release(db, { jobId: job.id, token: job.token, runAt: T0 + 5_000, now: T0 + 1 });

      expect(getJob(db, id)).toMatchObject({
        state: "queued",
        attempts: 0,
        runAt: T0 + 5_000,
        leaseOwner: null,
      });
      expect(claim(db, { owner: "w", leaseMs: LEASE, now: T0 + 4_999 })).toBeUndefined();
      // maxAttempts is 1: had the released attempt counted, this failure would not be the first.
      const again = take("w", T0 + 5_000);
      expect(again.attempts).toBe(1);
    });
  });

  describe("listJobs", () => {
    it("lists jobs in id order, optionally in one state", () => {
      const a = add("a");
      const b = add("b");
      take("w");

      expect(listJobs(db).map((job) => job.id)).toEqual([a.id, b.id]);
      expect(listJobs(db, { state: "queued" }).map((job) => job.id)).toEqual([b.id]);
      expect(listJobs(db, { state: "running" }).map((job) => job.id)).toEqual([a.id]);
    });
  });

  describe("nextRunAt", () => {
    it("is undefined when no job is waiting", () => {
      const { id } = add("a");
      const job = take("w");
      complete(db, { jobId: id, token: job.token, now: T0 });

      expect(nextRunAt(db)).toBeUndefined();
    });

    it("is the earliest run_at among queued jobs", () => {
      add("later", { runAt: T0 + 2_000 });
      add("sooner", { runAt: T0 + 1_000 });

      expect(nextRunAt(db)).toBe(T0 + 1_000);
    });

    it("is the expiry of a running job's lease when that comes first", () => {
      add("running");
      take("w");
      add("queued", { runAt: T0 + LEASE + 1 });

      expect(nextRunAt(db)).toBe(T0 + LEASE);
    });

    it("only looks at the kinds asked for", () => {
      add("run", { kind: "run", runAt: T0 + 2_000 });
      add("sweep", { kind: "sweep", runAt: T0 + 1_000 });

      expect(nextRunAt(db, { kinds: ["run"] })).toBe(T0 + 2_000);
    });

    it("is now when a job is already due", () => {
      add("overdue", { runAt: T0 - 5_000 });

      expect(nextRunAt(db, { now: T0 })).toBe(T0);
      expect(nextRunAt(db)).toBe(T0 - 5_000);
    });
  });
});

/**
 * `db`, except that `between` runs inside `claim` after it has chosen a job and before the UPDATE
 * that takes it: the one moment where a race could hand one job to two workers.
 */
function interposeBeforeTaking(db: Database, between: () => void): Database {
  let fired = false;
  onTestFinished(() => {
    if (!fired) throw new Error("claim no longer runs an UPDATE jobs SET state = 'running'; fix this helper");
  });
  return new Proxy(db, {
    get(target, property) {
      if (property !== "prepare") return Reflect.get(target, property, target);
      return (sql: string) => {
        if (/^\s*UPDATE jobs SET state = 'running'/.test(sql) && !fired) {
          fired = true;
          between();
        }
        return target.prepare(sql);
      };
    },
  });
}

/**
 * Runs one claiming process per owner against the database at `file`, all let go at the same
 * moment, and returns the job ids each one claimed. Real processes, so the claims truly overlap.
 */
async function raceWorkers(file: string, owners: string[]): Promise<number[][]> {
  const storeDir = fileURLToPath(new URL("../../src/store/", import.meta.url));
  const script = join(dir, "claim-worker.mjs");
  writeFileSync(
    script,
    `import { openDatabase } from ${JSON.stringify(join(storeDir, "database.ts"))};
import { claim, complete } from ${JSON.stringify(join(storeDir, "queue.ts"))};
import { setTimeout as sleep } from "node:timers/promises";
const [file, owner] = process.argv.slice(2);
const db = openDatabase(file, { synchronous: "NORMAL" });
process.stdout.write("ready\\n");
process.stdin.once("data", async () => {
  const ids = [];
  for (;;) {
    const job = claim(db, { owner, leaseMs: 60000, now: ${T0} });
    if (!job) break;
    ids.push(job.id);
    // Work on it a little, as a real worker would, so that the processes take turns.
    await sleep(Math.random() * 2);
    complete(db, { jobId: job.id, token: job.token, now: ${T0} });
  }
  db.close();
  process.stdout.write(JSON.stringify(ids) + "\\n");
});
`,
  );
  const viteNode = fileURLToPath(new URL("../../node_modules/.bin/vite-node", import.meta.url));
  const children = owners.map((owner) => spawn(viteNode, [script, file, owner], { cwd: dir }));
  const outputs = children.map(
    (child) =>
      new Promise<string[]>((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        let isReady = false;
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (!isReady && stdout.includes("ready\n")) {
            isReady = true;
            ready();
          }
        });
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on("error", reject);
        child.on("close", (code) =>
          code === 0
            ? resolve(stdout.trim().split("\n"))
            : reject(new Error(`worker exited ${code}: ${stderr}`)),
        );
      }),
  );
  // Start line: nobody claims until every process has opened the database.
  let waiting = children.length;
  function ready(): void {
    waiting -= 1;
    if (waiting === 0) for (const child of children) child.stdin.end("go\n");
  }
  try {
    const lines = await Promise.all(outputs);
    return lines.map((output) => JSON.parse(output.at(-1) ?? "[]") as number[]);
  } finally {
    // If one worker died before the start line, the others are still waiting for it.
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
