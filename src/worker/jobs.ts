import type { Database } from "better-sqlite3";
import type { RunEvent } from "../engine/types.js";
import { enqueue } from "../store/queue.js";

/** The one job kind: move a run on, optionally applying an outside event first. */
export const RUN_JOB = "run";

export interface RunJobPayload {
  runId: string;
  event?: RunEvent;
  /**
   * Who asked for the event (a slash command) and the role it takes: the worker checks the role
   * again right before applying it, so access removed since the comment counts.
   */
  steer?: Steer;
}

export interface Steer {
  login: string;
  needs: "write" | "maintain";
}

/**
 * Queues work for a run. `key` names the job once per run, so a second start, a redelivered
 * approval or a repeated resume is a no-op. Every job of a run is in the run's group.
 */
export function enqueueRunJob(
  db: Database,
  input: { runId: string; key: string; now: number; event?: RunEvent; runAt?: number; steer?: Steer },
): boolean {
  const payload: RunJobPayload = input.event
    ? { runId: input.runId, event: input.event, ...(input.steer ? { steer: input.steer } : {}) }
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

/**
 * The checks gate's deadline for one attempt: at `until` the run reads its CI a last time. Keyed
 * per (phase, attempt), so every later `ci.pending` of the attempt finds the timer already set.
 */
export function enqueueCiDeadline(
  db: Database,
  input: { runId: string; phaseId: string; attempt: number; until: number; now: number },
): boolean {
  const { runId, phaseId, attempt, until, now } = input;
  return enqueueRunJob(db, {
    runId,
    key: `ci/${phaseId}/${attempt}`,
    event: { type: "ci.timeout", phaseId, attempt },
    now,
    runAt: until,
  });
}

/** How often a run waiting for CI reads it again, should a `check_suite` webhook be lost. */
export const CI_POLL_MS = 5 * 60_000;

/**
 * The next look at a waiting run's CI, before its deadline: one request every {@link CI_POLL_MS},
 * so a lost webhook costs minutes, not the whole timeout. The looks sit on a grid counted back
 * from the deadline and are keyed by their time, so however many looks a webhook adds in between,
 * at most one poll per grid point is ever queued.
 */
export function enqueueCiPoll(
  db: Database,
  input: { runId: string; phaseId: string; attempt: number; until: number; now: number },
): boolean {
  const { runId, phaseId, attempt, until, now } = input;
  const at = until - Math.floor((until - now - 1) / CI_POLL_MS) * CI_POLL_MS;
  if (at >= until || at <= now) return false;
  return enqueueRunJob(db, {
    runId,
    key: `ci/${phaseId}/${attempt}/poll@${at}`,
    event: { type: "ci.timeout", phaseId, attempt },
    now,
    runAt: at,
  });
}

/** Starts a run; a second start of the same run is a no-op. */
export function enqueueRunStart(db: Database, runId: string, now: number): boolean {
  return enqueueRunJob(db, { runId, key: "start", now });
}
