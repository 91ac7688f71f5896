import { describe, expect, it } from "vitest";
import { startWorkerLoop } from "../../src/worker/loop.js";

describe("the worker loop", () => {
  it("works at once, again when woken, survives a failing pass, and stops", async () => {
    let passes = 0;
    const errors: unknown[] = [];
    const worker = {
      runUntilIdle: async () => {
        passes++;
        if (passes === 2) throw new Error("database is locked");
        return { processed: 0, nextRunAt: undefined };
      },
    };
    const loop = startWorkerLoop(worker, { now: Date.now, pollMs: 60_000, onError: (e) => errors.push(e) });
    await new Promise((r) => setTimeout(r, 20));
    expect(passes).toBe(1);
    loop.wake();
    await new Promise((r) => setTimeout(r, 20));
    loop.wake();
    await new Promise((r) => setTimeout(r, 20));
    expect(passes).toBe(3);
    expect(errors).toHaveLength(1);
    await loop.stop();
    loop.wake();
    await new Promise((r) => setTimeout(r, 20));
    expect(passes).toBe(3);
  });

  it("sleeps only until the next timer when it comes before the poll", async () => {
    let passes = 0;
    const start = Date.now();
    const worker = {
      runUntilIdle: async () => {
        passes++;
        return { processed: 0, nextRunAt: passes === 1 ? start + 30 : undefined };
      },
    };
    const loop = startWorkerLoop(worker, { now: Date.now, pollMs: 60_000 });
    await new Promise((r) => setTimeout(r, 120));
    expect(passes).toBe(2);
    await loop.stop();
  });
});
