import type { Database } from "better-sqlite3";
import {
  type Admission,
  admit,
  type Breaker,
  type BreakerOutcome,
  type BreakerSettings,
  type BreakerState,
  CLOSED_BREAKER,
  recordOutcome,
} from "../engine/breaker.js";
import { TASKS, type Task, TIERS, type Tier } from "../pipeline/schema.js";

/** A breaker as stored: one row per (task type, tier) that has ever counted anything. */
export interface BreakerRecord extends Breaker {
  task: Task;
  tier: Tier;
  updatedAt: number;
}

interface BreakerRow {
  task: string;
  tier: string;
  state: string;
  failures: string;
  opened_at: number | null;
  trial_key: string | null;
  trial_started_at: number | null;
  updated_at: number;
}

function toRecord(row: BreakerRow): BreakerRecord {
  const record: BreakerRecord = {
    task: row.task as Task,
    tier: row.tier as Tier,
    state: row.state as BreakerState,
    failures: JSON.parse(row.failures) as number[],
    updatedAt: row.updated_at,
  };
  if (row.opened_at !== null) record.openedAt = row.opened_at;
  if (row.trial_key !== null) record.trial = { key: row.trial_key, startedAt: row.trial_started_at ?? 0 };
  return record;
}

/** The breaker of (task, tier); undefined when it has never counted anything (closed). */
export function getBreaker(db: Database, task: Task, tier: Tier): BreakerRecord | undefined {
  const row = db.prepare("SELECT * FROM breakers WHERE task = ? AND tier = ?").get(task, tier) as
    | BreakerRow
    | undefined;
  return row ? toRecord(row) : undefined;
}

/** Every stored breaker, by task then tier in the pipeline language's order. */
export function listBreakers(db: Database): BreakerRecord[] {
  const rows = db.prepare("SELECT * FROM breakers").all() as BreakerRow[];
  const rank = (record: BreakerRecord) =>
    TASKS.indexOf(record.task) * TIERS.length + TIERS.indexOf(record.tier);
  return rows.map(toRecord).sort((a, b) => rank(a) - rank(b));
}

/** Writes the breaker of (task, tier), creating its row the first time. */
export function saveBreaker(db: Database, task: Task, tier: Tier, breaker: Breaker, now: number): void {
  db.prepare(
    `INSERT INTO breakers (task, tier, state, failures, opened_at, trial_key, trial_started_at, updated_at)
     VALUES (@task, @tier, @state, @failures, @openedAt, @trialKey, @trialStartedAt, @now)
     ON CONFLICT (task, tier) DO UPDATE SET state = excluded.state, failures = excluded.failures,
       opened_at = excluded.opened_at, trial_key = excluded.trial_key,
       trial_started_at = excluded.trial_started_at, updated_at = excluded.updated_at`,
  ).run({
    task,
    tier,
    state: breaker.state,
    failures: JSON.stringify(breaker.failures),
    openedAt: breaker.openedAt ?? null,
    trialKey: breaker.trial?.key ?? null,
    trialStartedAt: breaker.trial?.startedAt ?? null,
    now,
  });
}

/**
 * Asks the breaker of (task, tier) whether `attempt` may start there, saving the trial it may
 * claim. Call it inside the transaction that acts on the answer.
 */
export function admitAttempt(
  db: Database,
  at: { task: Task; tier: Tier },
  attempt: { key: string; now: number },
  settings: BreakerSettings,
): Admission {
  const before = getBreaker(db, at.task, at.tier) ?? CLOSED_BREAKER;
  const admission = admit(before, attempt, settings);
  if (admission.allowed && admission.breaker !== before)
    saveBreaker(db, at.task, at.tier, admission.breaker, attempt.now);
  return admission;
}

/**
 * Counts how an attempt at (task, tier) ended. Call it inside the transaction that records the
 * event it comes from, so a redelivered job cannot count it twice.
 */
export function countOutcome(
  db: Database,
  at: { task: Task; tier: Tier },
  outcome: { result: BreakerOutcome; key: string; now: number },
  settings: BreakerSettings,
): void {
  const before = getBreaker(db, at.task, at.tier) ?? CLOSED_BREAKER;
  const after = recordOutcome(before, outcome, settings);
  if (after !== before) saveBreaker(db, at.task, at.tier, after, outcome.now);
}
