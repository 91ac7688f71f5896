import { afterEach, expect } from "vitest";
import { listRuns, type RunRecord } from "../../src/store/runs.js";
import { NOW } from "../github-app/harness.js";
import { type ServedApp, type ServeExtras, serveApp } from "./serve-app.js";

/** A clock the test moves, shared by every "process" of one scenario. */
export function testClock() {
  let at = NOW;
  return {
    now: () => at,
    advance: (ms: number) => {
      at += ms;
    },
  };
}
export type TestClock = ReturnType<typeof testClock>;

const opened: ServedApp[] = [];
afterEach(async () => {
  for (const app of opened.splice(0)) await app.close();
});

/** One "process" of `atomic-scrum serve` on `dbPath`, closed after the test if it is still open. */
export async function startProcess(
  dbPath: string,
  now: () => number,
  owner: string,
  extras: ServeExtras = {},
): Promise<ServedApp> {
  const app = await serveApp({ dbPath, now, owner, ...extras });
  opened.push(app);
  return app;
}

/** Stops a process now: what it leaves behind is the database file, as after an exit. */
export async function stopProcess(app: ServedApp): Promise<void> {
  opened.splice(opened.indexOf(app), 1);
  await app.close();
}

/** The one run in the process's database. */
export function onlyRun(app: ServedApp): RunRecord {
  const runs = listRuns(app.db);
  expect(runs).toHaveLength(1);
  return runs[0] as RunRecord;
}

/** Works the queue until the run stops moving; each pass moves the clock past any back-off. */
export async function runToRest(app: ServedApp, time: Pick<TestClock, "advance">): Promise<RunRecord> {
  for (let pass = 0; pass < 20; pass++) {
    await app.worker.runUntilIdle();
    if (onlyRun(app).state.status !== "running") break;
    time.advance(10 * 60_000);
  }
  return onlyRun(app);
}
