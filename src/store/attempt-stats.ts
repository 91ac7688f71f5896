import type { Database } from "better-sqlite3";

/** How many attempts of one (task, tier) were graded, and how many of those failed. */
export interface AttemptStats {
  /** The task type of the phase, as the run's pinned pipeline declares it. */
  task: string;
  tier: string;
  /** Attempts that ended `passed` or `failed`. */
  graded: number;
  failed: number;
}

/**
 * Graded attempts per (task, tier) over every run in the store, whatever its provider: the
 * observed failure rates the dry run forecasts with. Read-only. `phase_attempts` does not record
 * a task, so it comes from the pipeline each run pinned; attempts whose phase that pipeline does
 * not name (or names without a task) are left out, as are attempts still running or never tiered.
 */
export function attemptStats(db: Database): AttemptStats[] {
  const rows = db
    .prepare(
      `SELECT json_extract(p.value, '$.task') AS task, a.tier AS tier, COUNT(*) AS graded,
              SUM(a.state = 'failed') AS failed
         FROM phase_attempts a
         JOIN runs r ON r.id = a.run_id
         JOIN json_each(r.pipeline_source, '$.phases') p ON json_extract(p.value, '$.id') = a.phase_id
        WHERE a.state IN ('passed', 'failed') AND a.tier IS NOT NULL
        GROUP BY 1, 2`,
    )
    .all() as { task: string | null; tier: string; graded: number; failed: number }[];
  return rows.flatMap((row) => (row.task ? [{ ...row, task: row.task }] : []));
}
