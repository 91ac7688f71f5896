import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import { claim, enqueue, getJob, LeaseLostError, postpone } from "../../src/store/queue.js";
import { tempDir } from "../helpers/temp.js";

const T0 = 1_700_000_000_000;
let db: Database;
beforeEach(() => {
  db = openDatabase(join(tempDir(), "store.db"));
});
afterEach(() => {
  db.close();
});

describe("queue > postpone (issue 11, class 12)", () => {
  it("puts a held job off until the time given, its attempt not counted, however often", () => {
    const { job } = enqueue(db, { kind: "run", payload: {}, idempotencyKey: "k", maxAttempts: 2, now: T0 });
    let at = T0;
    // Ten rate limits in a row on a job allowed two attempts: it is never dead-lettered.
    for (let n = 0; n < 10; n++) {
      const held = claim(db, { owner: "w", leaseMs: 60_000, now: at });
      expect(held?.id).toBe(job.id);
      postpone(db, {
        jobId: job.id,
        token: held?.token ?? 0,
        runAt: at + 60_000,
        reason: "rate limit",
        now: at,
      });
      expect(claim(db, { owner: "w", leaseMs: 60_000, now: at + 59_999 })).toBeUndefined();
      at += 60_000;
    }
    expect(getJob(db, job.id)).toMatchObject({
      state: "queued",
      attempts: 0,
      runAt: at,
      lastError: "rate limit",
    });
  });

  it("a stale holder cannot postpone a job someone else now holds", () => {
    const { job } = enqueue(db, { kind: "run", payload: {}, idempotencyKey: "k", now: T0 });
    const stale = claim(db, { owner: "a", leaseMs: 1_000, now: T0 });
    const fresh = claim(db, { owner: "b", leaseMs: 60_000, now: T0 + 2_000 });
    expect(() =>
      postpone(db, {
        jobId: job.id,
        token: stale?.token ?? 0,
        runAt: T0 + 60_000,
        reason: "x",
        now: T0 + 2_000,
      }),
    ).toThrow(LeaseLostError);
    expect(getJob(db, job.id)).toMatchObject({
      state: "running",
      leaseOwner: "b",
      fencingToken: fresh?.token,
    });
  });
});
