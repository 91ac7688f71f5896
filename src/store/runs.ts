import type { Database } from "better-sqlite3";
import type { IssueInput, RepoInput } from "../engine/template-context.js";
import type { RunEvent, RunState } from "../engine/types.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Tier } from "../pipeline/schema.js";
import type { ServerSettings } from "../providers/settings.js";

/** A run as stored: the pinned pipeline, the issue it works on and its current state. */
export interface RunRecord {
  id: string;
  pipelineName: string;
  pipelineHash: string;
  pipeline: ResolvedPipeline;
  pipelinePath?: string;
  repo: RepoInput;
  issue: IssueInput;
  branch: string;
  state: RunState;
  /** The provider the run was started with (name and its settings, never a secret). */
  provider?: ProviderChoice;
  /** The GitHub login that started the run (the label's sender); absent for local runs. */
  startedBy?: string;
  createdAt: number;
  updatedAt: number;
}

export interface ProviderChoice {
  name: string;
  fixtures?: string;
  /** Tier -> model overrides pinned at run start (the repository's `tiers`); real adapters use them. */
  models?: Partial<Record<Tier, string>>;
  /**
   * The settings file's content a local run started with (prices, providers, breaker, budget),
   * pinned so a resume without `--settings`, or after the file changed, runs as it started (issue
   * 12). It holds no secret: keys come from the environment, and a `base_url` carrying a user or
   * password is refused before a run starts.
   */
  settings?: ServerSettings;
  /** The file the settings were read from, for messages only. */
  settingsFile?: string;
}

interface RunRow {
  id: string;
  pipeline_name: string;
  pipeline_hash: string;
  pipeline_source: string;
  pipeline_path: string | null;
  repo: string;
  issue: string;
  branch: string;
  state: string;
  provider: string | null;
  started_by: string | null;
  created_at: number;
  updated_at: number;
}

function toRecord(row: RunRow): RunRecord {
  const record: RunRecord = {
    id: row.id,
    pipelineName: row.pipeline_name,
    pipelineHash: row.pipeline_hash,
    pipeline: JSON.parse(row.pipeline_source) as ResolvedPipeline,
    repo: JSON.parse(row.repo) as RepoInput,
    issue: JSON.parse(row.issue) as IssueInput,
    branch: row.branch,
    state: JSON.parse(row.state) as RunState,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.pipeline_path) record.pipelinePath = row.pipeline_path;
  if (row.provider) record.provider = JSON.parse(row.provider) as ProviderChoice;
  if (row.started_by) record.startedBy = row.started_by;
  return record;
}

export function insertRun(db: Database, run: Omit<RunRecord, "updatedAt">): void {
  db.prepare(
    `INSERT INTO runs (id, pipeline_name, pipeline_hash, pipeline_source, pipeline_path, repo, issue, branch,
       status, state, tokens_total, cost_usd, provider, started_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    run.id,
    run.pipelineName,
    run.pipelineHash,
    JSON.stringify(run.pipeline),
    run.pipelinePath ?? null,
    JSON.stringify(run.repo),
    JSON.stringify(run.issue),
    run.branch,
    run.state.status,
    JSON.stringify(run.state),
    run.state.totals.tokens,
    run.state.totals.costUsd,
    run.provider ? JSON.stringify(run.provider) : null,
    run.startedBy ?? null,
    run.createdAt,
    run.createdAt,
  );
}

export function getRun(db: Database, id: string): RunRecord | undefined {
  const row = db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
  return row ? toRecord(row) : undefined;
}

/**
 * The newest run of a repository matching an issue number or a branch, optionally only one not
 * yet ended: the one query behind the finders below.
 */
function newestRun(
  db: Database,
  repo: { owner: string; name: string },
  match: { issueNumber: number; pipelineName?: string } | { branch: string },
  activeOnly: boolean,
): RunRecord | undefined {
  const row = db
    .prepare(
      `SELECT * FROM runs WHERE json_extract(repo, '$.owner') = @owner AND json_extract(repo, '$.name') = @name
         AND (@number IS NULL OR json_extract(issue, '$.number') = @number)
         AND (@branch IS NULL OR branch = @branch)
         AND (@pipeline IS NULL OR pipeline_name = @pipeline)
         AND (@activeOnly = 0 OR status NOT IN ('succeeded','failed','cancelled'))
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get({
      owner: repo.owner,
      name: repo.name,
      number: "issueNumber" in match ? match.issueNumber : null,
      branch: "branch" in match ? match.branch : null,
      pipeline: "issueNumber" in match ? (match.pipelineName ?? null) : null,
      activeOnly: activeOnly ? 1 : 0,
    }) as RunRow | undefined;
  return row ? toRecord(row) : undefined;
}

/**
 * The run not yet ended for an issue of a repository, of one pipeline when `pipelineName` is
 * given. A branch name comes from the issue's title, which can be edited; the issue number cannot,
 * so this is the check behind "one active run per issue" (GitHub) and "per (issue, pipeline)"
 * (local runs): see {@link onePerPipeline}.
 */
export function findActiveRunForIssue(
  db: Database,
  repo: { owner: string; name: string },
  issueNumber: number,
  pipelineName?: string,
): RunRecord | undefined {
  return newestRun(db, repo, { issueNumber, ...(pipelineName ? { pipelineName } : {}) }, true);
}

/**
 * Whether a repository's runs are one per (issue, pipeline) rather than one per issue. Locally,
 * every command names its run, so two pipelines can work one issue. On GitHub a comment on the
 * issue steers "its" run (`/cancel`, `/retry`), which two runs would make ambiguous: one per issue.
 */
export function onePerPipeline(repo: { installationId?: number }): boolean {
  return repo.installationId === undefined;
}

/**
 * The newest run that took over from `run`: of its issue (and, where runs are one per pipeline,
 * of its pipeline), started after it. A replaced run is never sent back to work.
 */
export function findReplacingRun(db: Database, run: RunRecord): RunRecord | undefined {
  const newest = newestRun(
    db,
    run.repo,
    {
      issueNumber: run.issue.number,
      ...(onePerPipeline(run.repo) ? { pipelineName: run.pipelineName } : {}),
    },
    false,
  );
  return newest && newest.id !== run.id ? newest : undefined;
}

/** The run in progress on `branch` of a repository, if any: how a pull request event finds its run. */
export function findActiveRunForBranch(
  db: Database,
  repo: { owner: string; name: string },
  branch: string,
): RunRecord | undefined {
  return newestRun(db, repo, { branch }, true);
}

/**
 * The newest run of an issue, ended or not: a slash command on the issue speaks to it (`/status`
 * of a finished run, `/retry` of a failed one). Older runs of the issue are superseded.
 */
export function findLatestRunForIssue(
  db: Database,
  repo: { owner: string; name: string },
  issueNumber: number,
): RunRecord | undefined {
  return newestRun(db, repo, { issueNumber }, false);
}

/** The run that used `branch`, ended or not: each run has a branch of its own, so at most one. */
export function findRunForBranch(
  db: Database,
  repo: { owner: string; name: string },
  branch: string,
): RunRecord | undefined {
  return newestRun(db, repo, { branch }, false);
}

/** The highest issue number any run of the repository used; 0 when it has none. */
export function highestIssueNumber(db: Database, repo: { owner: string; name: string }): number {
  const row = db
    .prepare(
      `SELECT COALESCE(MAX(json_extract(issue, '$.number')), 0) AS n FROM runs
         WHERE json_extract(repo, '$.owner') = @owner AND json_extract(repo, '$.name') = @name`,
    )
    .get({ owner: repo.owner, name: repo.name }) as { n: number };
  return row.n;
}

/** Whether any run of the repository, ended or not, has used `branch`. */
export function isBranchUsed(db: Database, repo: { owner: string; name: string }, branch: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM runs WHERE branch = @branch
           AND json_extract(repo, '$.owner') = @owner AND json_extract(repo, '$.name') = @name LIMIT 1`,
      )
      .get({ owner: repo.owner, name: repo.name, branch }) !== undefined
  );
}

/**
 * What attempts started at or after `since` cost, in USD: of one repository, of one GitHub
 * installation, or of the whole database. Daily budgets read it before every call.
 */
export function spentSince(
  db: Database,
  since: number,
  scope: { repo?: { owner: string; name: string }; installationId?: number },
): number {
  const row = db
    .prepare(
      `SELECT COALESCE(SUM(a.cost_usd), 0) AS spent FROM phase_attempts a JOIN runs r ON r.id = a.run_id
         WHERE a.started_at >= @since
           AND (@owner IS NULL OR (json_extract(r.repo, '$.owner') = @owner AND json_extract(r.repo, '$.name') = @name))
           AND (@installation IS NULL OR json_extract(r.repo, '$.installationId') = @installation)`,
    )
    .get({
      since,
      owner: scope.repo?.owner ?? null,
      name: scope.repo?.name ?? null,
      installation: scope.installationId ?? null,
    }) as { spent: number };
  return row.spent;
}

/** Pins a new provider choice (with its settings) on a run: `atomic-scrum retry --settings`. */
export function updateRunProvider(db: Database, id: string, provider: ProviderChoice, now: number): void {
  db.prepare("UPDATE runs SET provider = ?, updated_at = ? WHERE id = ?").run(
    JSON.stringify(provider),
    now,
    id,
  );
}

/** Runs that should be moving (not waiting, not ended): each must have a job, or it is stalled. */
export function listRunningRuns(db: Database, id?: string): RunRecord[] {
  const rows = db
    .prepare("SELECT * FROM runs WHERE status = 'running' AND (@id IS NULL OR id = @id)")
    .all({ id: id ?? null }) as RunRow[];
  return rows.map(toRecord);
}

export function listRuns(db: Database, limit = 50): RunRecord[] {
  const rows = db.prepare("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?").all(limit) as RunRow[];
  return rows.map(toRecord);
}

/**
 * Saves a new state only if nobody saved since `expectedSeq` was read: two workers racing on one
 * run cannot both apply an event.
 */
export function saveRunState(
  db: Database,
  id: string,
  state: RunState,
  expectedSeq: number,
  now: number,
): boolean {
  const result = db
    .prepare(
      `UPDATE runs SET state = ?, status = ?, tokens_total = ?, cost_usd = ?, error = ?, updated_at = ?
       WHERE id = ? AND json_extract(state, '$.seq') = ?`,
    )
    .run(
      JSON.stringify(state),
      state.status,
      state.totals.tokens,
      state.totals.costUsd,
      state.reason ?? null,
      now,
      id,
      expectedSeq,
    );
  return result.changes === 1;
}

export interface StoredEvent {
  id: number;
  runId: string;
  type: string;
  data: unknown;
  at: number;
}

export function appendEvent(
  db: Database,
  runId: string,
  event: RunEvent | { type: string },
  at: number,
): void {
  const { type, ...data } = event;
  db.prepare("INSERT INTO events (run_id, type, data, at) VALUES (?, ?, ?, ?)").run(
    runId,
    type,
    JSON.stringify(data),
    at,
  );
}

export function listEvents(db: Database, runId: string): StoredEvent[] {
  const rows = db
    .prepare("SELECT id, run_id, type, data, at FROM events WHERE run_id = ? ORDER BY id")
    .all(runId) as {
    id: number;
    run_id: string;
    type: string;
    data: string;
    at: number;
  }[];
  return rows.map((row) => ({
    id: row.id,
    runId: row.run_id,
    type: row.type,
    data: JSON.parse(row.data),
    at: row.at,
  }));
}

/** A phase attempt as shown in comments and the CLI. */
export interface AttemptRecord {
  runId: string;
  phaseId: string;
  attempt: number;
  tier?: string;
  provider?: string;
  model?: string;
  state: "running" | "passed" | "failed" | "error";
  output?: string;
  scores?: unknown;
  tokensIn: number;
  tokensOut: number;
  cacheRead: number;
  cacheWrite: number;
  costUsd: number;
  startedAt?: number;
  finishedAt?: number;
  commitSha?: string;
  commentId?: string;
  error?: string;
}

const ATTEMPT_COLUMNS: Record<keyof Omit<AttemptRecord, "runId" | "phaseId" | "attempt">, string> = {
  tier: "tier",
  provider: "provider",
  model: "model",
  state: "state",
  output: "output",
  scores: "scores",
  tokensIn: "tokens_in",
  tokensOut: "tokens_out",
  cacheRead: "cache_read",
  cacheWrite: "cache_write",
  costUsd: "cost_usd",
  startedAt: "started_at",
  finishedAt: "finished_at",
  commitSha: "commit_sha",
  commentId: "comment_id",
  error: "error",
};

/** Creates the attempt row or updates the given fields of it. */
export function upsertAttempt(
  db: Database,
  key: { runId: string; phaseId: string; attempt: number },
  fields: Partial<Omit<AttemptRecord, "runId" | "phaseId" | "attempt">>,
): void {
  db.prepare(
    "INSERT INTO phase_attempts (run_id, phase_id, attempt, state) VALUES (?, ?, ?, 'running') ON CONFLICT DO NOTHING",
  ).run(key.runId, key.phaseId, key.attempt);
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return;
  const sets = entries
    .map(([name]) => `${ATTEMPT_COLUMNS[name as keyof typeof ATTEMPT_COLUMNS]} = ?`)
    .join(", ");
  const values = entries.map(([name, value]) => (name === "scores" ? JSON.stringify(value) : value));
  db.prepare(`UPDATE phase_attempts SET ${sets} WHERE run_id = ? AND phase_id = ? AND attempt = ?`).run(
    ...values,
    key.runId,
    key.phaseId,
    key.attempt,
  );
}

/** Ends an attempt that is still marked running (a run stopped under it); no row, no change. */
export function endRunningAttempt(
  db: Database,
  key: { runId: string; phaseId: string; attempt: number },
  end: { error: string; finishedAt: number },
): void {
  db.prepare(
    `UPDATE phase_attempts SET state = 'error', error = ?, finished_at = ?
     WHERE run_id = ? AND phase_id = ? AND attempt = ? AND state = 'running'`,
  ).run(end.error, end.finishedAt, key.runId, key.phaseId, key.attempt);
}

export function listAttempts(db: Database, runId: string): AttemptRecord[] {
  const rows = db
    .prepare("SELECT * FROM phase_attempts WHERE run_id = ? ORDER BY rowid")
    .all(runId) as Record<string, unknown>[];
  return rows.map((row) => {
    const record: Record<string, unknown> = {
      runId: row.run_id,
      phaseId: row.phase_id,
      attempt: row.attempt,
    };
    for (const [field, column] of Object.entries(ATTEMPT_COLUMNS)) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      record[field] = field === "scores" ? JSON.parse(String(value)) : value;
    }
    return record as unknown as AttemptRecord;
  });
}

/** The recorded result of an effect already carried out, if any. */
export function getEffect<T>(db: Database, key: string): T | undefined {
  const row = db.prepare("SELECT result FROM effects WHERE key = ?").get(key) as
    | { result: string }
    | undefined;
  return row ? (JSON.parse(row.result) as T) : undefined;
}

/** How many effects of `kind` a run has recorded (hand-offs to a person, say). */
export function countEffects(db: Database, runId: string, kind: string): number {
  const row = db
    .prepare("SELECT COUNT(*) AS n FROM effects WHERE run_id = ? AND kind = ?")
    .get(runId, kind) as {
    n: number;
  };
  return row.n;
}

export function putEffect(
  db: Database,
  key: string,
  runId: string,
  kind: string,
  result: unknown,
  now: number,
): void {
  db.prepare("INSERT OR IGNORE INTO effects (key, run_id, kind, result, done_at) VALUES (?, ?, ?, ?, ?)").run(
    key,
    runId,
    kind,
    JSON.stringify(result),
    now,
  );
}

/** Records a webhook delivery id; false when it was already taken (a redelivery to drop). */
export function recordDelivery(db: Database, id: string, event: string, now: number): boolean {
  return (
    db
      .prepare("INSERT OR IGNORE INTO deliveries (id, event, received_at) VALUES (?, ?, ?)")
      .run(id, event, now).changes === 1
  );
}
