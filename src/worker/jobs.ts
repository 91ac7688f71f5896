import type { Database } from "better-sqlite3";
import type { RunEvent } from "../engine/types.js";
import { enqueue } from "../store/queue.js";

/** The one job kind: move a run on, optionally applying an outside event first. */
export const RUN_JOB = "run";

export interface RunJobPayload {
  runId: string;
  event?: RunEvent;
}

/** Starts (or continues) a run; the key makes a second start of the same run a no-op. */
export function enqueueRunStart(db: Database, runId: string, now: number): boolean {
  return enqueue(db, { kind: RUN_JOB, payload: { runId }, idempotencyKey: `${runId}/start`, now }).created;
}

/**
 * Delivers an outside event (approval, cooldown over, cancel) to a run. `key` names the event
 * once, so the same approval given twice is applied once.
 */
export function enqueueRunEvent(
  db: Database,
  input: { runId: string; event: RunEvent; key: string; now: number; runAt?: number },
): boolean {
  const job = {
    kind: RUN_JOB,
    payload: { runId: input.runId, event: input.event } satisfies RunJobPayload,
    idempotencyKey: `${input.runId}/${input.key}`,
    now: input.now,
  };
  return enqueue(db, input.runAt === undefined ? job : { ...job, runAt: input.runAt }).created;
}
