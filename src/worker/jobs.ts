import type { Database } from "better-sqlite3";
import type { RunEvent } from "../engine/types.js";
import { enqueue } from "../store/queue.js";

/** The one job kind: move a run on, optionally applying an outside event first. */
export const RUN_JOB = "run";

export interface RunJobPayload {
  runId: string;
  event?: RunEvent;
}

/**
 * Queues work for a run. `key` names the job once per run, so a second start, a redelivered
 * approval or a repeated resume is a no-op. Every job of a run is in the run's group.
 */
export function enqueueRunJob(
  db: Database,
  input: { runId: string; key: string; now: number; event?: RunEvent; runAt?: number },
): boolean {
  const payload: RunJobPayload = input.event
    ? { runId: input.runId, event: input.event }
    : { runId: input.runId };
  return enqueue(db, {
    kind: RUN_JOB,
    payload,
    idempotencyKey: `${input.runId}/${input.key}`,
    group: input.runId,
    now: input.now,
    ...(input.runAt === undefined ? {} : { runAt: input.runAt }),
  }).created;
}

/** Starts a run; a second start of the same run is a no-op. */
export function enqueueRunStart(db: Database, runId: string, now: number): boolean {
  return enqueueRunJob(db, { runId, key: "start", now });
}
