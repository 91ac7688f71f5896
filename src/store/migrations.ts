import type { Database } from "./database.js";

/** One step of the schema. Versions start at 1 and go up by one; a released migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  /**
   * Plain DDL. No BEGIN/COMMIT: `migrate` wraps each migration in its own transaction, where
   * `PRAGMA foreign_keys` cannot be switched, so a table rebuild must keep references valid itself.
   */
  sql: string;
}

// Tables are STRICT so a fractional timestamp or a number where JSON text belongs is an error at the
// write that makes it, not a surprise at some later read.
const initialSchema = `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  pipeline_name TEXT NOT NULL,
  pipeline_hash TEXT NOT NULL,
  pipeline_source TEXT NOT NULL,
  pipeline_path TEXT,
  repo TEXT NOT NULL,
  issue TEXT NOT NULL,
  branch TEXT NOT NULL,
  status TEXT NOT NULL,
  state TEXT NOT NULL,
  tokens_total INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_status ON runs (status);

CREATE TABLE phase_attempts (
  run_id TEXT NOT NULL REFERENCES runs (id),
  phase_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  tier TEXT,
  provider TEXT,
  model TEXT,
  state TEXT NOT NULL,
  output TEXT,
  scores TEXT,
  tokens_in INTEGER NOT NULL DEFAULT 0,
  tokens_out INTEGER NOT NULL DEFAULT 0,
  cache_read INTEGER NOT NULL DEFAULT 0,
  cache_write INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  started_at INTEGER,
  finished_at INTEGER,
  commit_sha TEXT,
  comment_id TEXT,
  error TEXT,
  PRIMARY KEY (run_id, phase_id, attempt)
) STRICT;

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_run_id ON events (run_id);
-- The event log is the audit trail of a run; the database itself refuses to rewrite history.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
-- INSERT OR REPLACE deletes the old row without firing delete triggers (recursive_triggers is off).
CREATE TRIGGER events_no_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE id = NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE effects (
  key TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  result TEXT NOT NULL,
  done_at INTEGER NOT NULL
) STRICT;

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  received_at INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
  run_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  fencing_token INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
-- The claim query reads due queued jobs in (run_at, id) order straight off this index, so a claim
-- stays a short index walk however large the backlog. Partial: done and dead jobs pile up forever
-- and are never claimed, so they stay out of it.
CREATE INDEX jobs_queued ON jobs (run_at, id) WHERE state = 'queued';
-- Finds leases that have expired (crashed or hung workers).
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';

CREATE TABLE breakers (
  task TEXT NOT NULL,
  tier TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'closed',
  opened_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (task, tier)
) STRICT;
`;

/** Every migration, oldest first. Append only. */
/**
 * Jobs belong to a group (a run's id) so a process can work one run's jobs only, and a run keeps
 * the provider it was started with, so resuming it never switches models underneath it.
 */
const groupsAndProviders = `
ALTER TABLE jobs ADD COLUMN group_key TEXT;
CREATE INDEX jobs_group ON jobs (group_key, state);
ALTER TABLE runs ADD COLUMN provider TEXT;
`;

/**
 * The circuit breaker keeps the times of its failures (a count cannot forget the ones that left
 * the window) and the attempt let through as its half-open trial. The v1 table had a count
 * column of another type, and STRICT columns cannot change type in place, so the table is rebuilt;
 * nothing wrote to it before this version, but whatever state a row had is kept.
 */
const breakerWindows = `
CREATE TABLE breakers_v3 (
  task TEXT NOT NULL,
  tier TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half-open')),
  failures TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(failures)),
  opened_at INTEGER,
  trial_key TEXT,
  trial_started_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (task, tier)
) STRICT;
INSERT INTO breakers_v3 (task, tier, state, opened_at, updated_at)
  SELECT task, tier, CASE WHEN state IN ('closed', 'open') THEN state ELSE 'open' END, opened_at, updated_at
  FROM breakers;
DROP TABLE breakers;
ALTER TABLE breakers_v3 RENAME TO breakers;
`;

/**
 * Who started a run (the label's sender on GitHub; empty for local runs), so `prevent_self_review`
 * can refuse that person's approval.
 */
const runStarters = `
ALTER TABLE runs ADD COLUMN started_by TEXT;
`;

/**
 * The check runs the app wrote for each run, one row per (check name, commit): what it last said
 * (so an unchanged check is not written again) and its GitHub id (so a change updates it instead
 * of adding another). `projected_seq`: the last state the status comment and checks were written
 * for, so a final state whose writes a crash cut off is written at the next start.
 */
const checkRuns = `
CREATE TABLE check_runs (
  run_id      TEXT NOT NULL REFERENCES runs(id),
  name        TEXT NOT NULL,
  head_sha    TEXT NOT NULL,
  check_id    TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  completed   INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, name, head_sha)
) STRICT;
ALTER TABLE runs ADD COLUMN projected_seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET projected_seq = json_extract(state, '$.seq');
`;

/**
 * One row per reply a webhook handler decided to post, keyed by thread and marker: the claim is
 * taken in the same statement that decides, so two deliveries at once (two labels, a delivery
 * sent twice) cannot both post (issue 11, class 15).
 */
const replyClaims = `
CREATE TABLE reply_claims (
  key        TEXT PRIMARY KEY,
  claimed_at INTEGER NOT NULL
) STRICT;
`;

/**
 * Breakers are kept per (provider, model, task type, tier), not per (task type, tier) across
 * providers: simulated runs that failed opened breakers that then moved the next Anthropic run up
 * a tier (issue 12, item 3). The old rows are dropped, not carried over: they mixed every
 * provider's outcomes, offline ones included, so filing them under any real provider would keep
 * the very contamination this fixes, and an "unknown" key no run asks would only be listed forever.
 * Little is lost: a breaker remembers an hour of failures and opens for a 15-minute cool-off.
 */
const breakersPerModel = `
DROP TABLE breakers;
CREATE TABLE breakers (
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  task TEXT NOT NULL,
  tier TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half-open')),
  failures TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(failures)),
  opened_at INTEGER,
  trial_key TEXT,
  trial_started_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (provider, model, task, tier)
) STRICT;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial schema", sql: initialSchema },
  { version: 2, name: "job groups and run providers", sql: groupsAndProviders },
  { version: 3, name: "breaker failure windows and trials", sql: breakerWindows },
  { version: 4, name: "who started a run", sql: runStarters },
  { version: 5, name: "check runs and projected states", sql: checkRuns },
  { version: 6, name: "reply claims", sql: replyClaims },
  { version: 7, name: "breakers per provider and model", sql: breakersPerModel },
];

/** Thrown when a database was written by a newer atomic-scrum than the one opening it. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
  constructor(
    readonly file: string,
    readonly found: number,
    readonly latest: number,
  ) {
    super(
      `${file} has schema version ${found}, but this atomic-scrum only knows versions up to ${latest}: ` +
        "the database was written by a newer atomic-scrum. Upgrade atomic-scrum, or point it at another database file.",
    );
  }
}

/**
 * Brings the schema up to the latest migration, each migration in its own transaction.
 *
 * The version lives in `PRAGMA user_version` rather than a schema_migrations table: it sits in the
 * file header, is written in the same transaction as the DDL (so a failed migration leaves no
 * half-applied version behind), and can be read before we know anything about the schema.
 *
 * @param migrations defaults to {@link MIGRATIONS}; tests pass their own.
 * @returns the schema version before and after.
 * @throws SchemaTooNewError if the database is newer than the latest known migration.
 */
export function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  assertSequential(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  const from = schemaVersion(db);
  if (from > latest) throw new SchemaTooNewError(db.name, from, latest);
  for (const migration of migrations) {
    if (migration.version > from) apply(db, migration);
  }
  return { from, to: schemaVersion(db) };
}

/** The `user_version` of the database: 0 for a new file. */
export function schemaVersion(db: Database): number {
  return Number(db.pragma("user_version", { simple: true }));
}

function apply(db: Database, migration: Migration): void {
  // IMMEDIATE takes the write lock before reading the version: two processes opening a fresh file
  // at once then migrate one after the other, and the second sees the work already done.
  db.transaction(() => {
    if (schemaVersion(db) >= migration.version) return;
    db.exec(migration.sql);
    // PRAGMA takes no bound parameters; the version is an integer we checked in assertSequential.
    db.pragma(`user_version = ${migration.version}`);
  }).immediate();
}

function assertSequential(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `migration "${migration.name}" has version ${migration.version}, expected ${index + 1}: ` +
          "versions must start at 1 and go up by one, in order",
      );
    }
  });
}
