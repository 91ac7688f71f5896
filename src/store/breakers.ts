import type { Database } from "better-sqlite3";
import {
  type Admission,
  admit,
  type Breaker,
  type BreakerKey,
  type BreakerOutcome,
  type BreakerSettings,
  type BreakerState,
  CLOSED_BREAKER,
  recordOutcome,
} from "../engine/breaker.js";
import { TASKS, type Task, TIERS, type Tier } from "../pipeline/schema.js";

/** A breaker as stored: one row per (provider, model, task type, tier) that has ever counted anything. */
export interface BreakerRecord extends Breaker, BreakerKey {
  updatedAt: number;
}

interface BreakerRow {
  provider: string;
  model: string;
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
    provider: row.provider,
    model: row.model,
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

const WHERE_KEY = "provider = @provider AND model = @model AND task = @task AND tier = @tier";

/** The breaker of `key`; undefined when it has never counted anything (closed). */
export function getBreaker(db: Database, key: BreakerKey): BreakerRecord | undefined {
  const row = db.prepare(`SELECT * FROM breakers WHERE ${WHERE_KEY}`).get(keyParams(key)) as
    | BreakerRow
    | undefined;
  return row ? toRecord(row) : undefined;
}

/** Every stored breaker, by provider and model, then task and tier in the pipeline language's order. */
export function listBreakers(db: Database): BreakerRecord[] {
  const rows = db.prepare("SELECT * FROM breakers").all() as BreakerRow[];
  const rank = (record: BreakerRecord) =>
    TASKS.indexOf(record.task) * TIERS.length + TIERS.indexOf(record.tier);
  return rows
    .map(toRecord)
    .sort(
      (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model) || rank(a) - rank(b),
    );
}

/** Which breakers `resetBreakers` forgets: every one when no field is set. */
export type BreakerFilter = Partial<BreakerKey>;

/** Forgets the breakers `filter` matches (they are closed again, with no failures); how many it forgot. */
export function resetBreakers(db: Database, filter: BreakerFilter = {}): number {
  const fields = (["provider", "model", "task", "tier"] as const).filter(
    (name) => filter[name] !== undefined,
  );
  const where =
    fields.length === 0 ? "" : ` WHERE ${fields.map((name) => `${name} = @${name}`).join(" AND ")}`;
  return db.prepare(`DELETE FROM breakers${where}`).run(Object.fromEntries(fields.map((n) => [n, filter[n]])))
    .changes;
}

/** Writes the breaker of `key`, creating its row the first time. */
export function saveBreaker(db: Database, key: BreakerKey, breaker: Breaker, now: number): void {
  db.prepare(
    `INSERT INTO breakers (provider, model, task, tier, state, failures, opened_at, trial_key, trial_started_at, updated_at)
     VALUES (@provider, @model, @task, @tier, @state, @failures, @openedAt, @trialKey, @trialStartedAt, @now)
     ON CONFLICT (provider, model, task, tier) DO UPDATE SET state = excluded.state, failures = excluded.failures,
       opened_at = excluded.opened_at, trial_key = excluded.trial_key,
       trial_started_at = excluded.trial_started_at, updated_at = excluded.updated_at`,
  ).run({
    ...keyParams(key),
    state: breaker.state,
    failures: JSON.stringify(breaker.failures),
    openedAt: breaker.openedAt ?? null,
    trialKey: breaker.trial?.key ?? null,
    trialStartedAt: breaker.trial?.startedAt ?? null,
    now,
  });
}

/**
 * Asks the breaker of `at` whether `attempt` may start there, saving the trial it may claim.
 * Call it inside the transaction that acts on the answer.
 */
export function admitAttempt(
  db: Database,
  at: BreakerKey,
  attempt: { key: string; now: number },
  settings: BreakerSettings,
): Admission {
  const before = getBreaker(db, at) ?? CLOSED_BREAKER;
  const admission = admit(before, attempt, settings);
  if (admission.allowed && admission.breaker !== before) saveBreaker(db, at, admission.breaker, attempt.now);
  return admission;
}

/**
 * Counts how an attempt admitted by the breaker of `at` ended. Call it inside the transaction that
 * records the event it comes from, so a redelivered job cannot count it twice.
 */
export function countOutcome(
  db: Database,
  at: BreakerKey,
  outcome: { result: BreakerOutcome; key: string; now: number },
  settings: BreakerSettings,
): void {
  const before = getBreaker(db, at) ?? CLOSED_BREAKER;
  const after = recordOutcome(before, outcome, settings);
  if (after !== before) saveBreaker(db, at, after, outcome.now);
}

/** Only the key's own fields: a record passed as a key must not bind its state as parameters. */
function keyParams(key: BreakerKey): BreakerKey {
  return { provider: key.provider, model: key.model, task: key.task, tier: key.tier };
}
