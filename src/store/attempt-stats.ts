import type { Database } from "better-sqlite3";

/** How many attempts of one (provider, model, task, tier) were graded, and how many of those failed. */
export interface AttemptStats {
  /** The provider and model that answered the attempt's call (a fallback's, when one answered). */
  provider: string;
  model: string;
  /** The task type of the phase, as the run's pinned pipeline declares it. */
  task: string;
  tier: string;
  /** Attempts that ended `passed` or `failed`. */
  graded: number;
  failed: number;
}

/**
 * Graded attempts per (provider, model, task, tier) over every run in the store: the observed
 * failure rates the dry run forecasts with, each for the provider and model it was seen on, so
 * simulated and recorded attempts never count toward a real model's rate. Read-only.
 * `phase_attempts` does not record a task, so it comes from the pipeline each run pinned;
 * attempts whose phase that pipeline does not name (or names without a task) are left out, as are
 * attempts still running, never tiered, or with no provider or model recorded.
 */
export function attemptStats(db: Database): AttemptStats[] {
  const rows = db
    .prepare(
      `SELECT a.provider AS provider, a.model AS model, json_extract(p.value, '$.task') AS task,
              a.tier AS tier, COUNT(*) AS graded, SUM(a.state = 'failed') AS failed
         FROM phase_attempts a
         JOIN runs r ON r.id = a.run_id
         JOIN json_each(r.pipeline_source, '$.phases') p ON json_extract(p.value, '$.id') = a.phase_id
        WHERE a.state IN ('passed', 'failed') AND a.tier IS NOT NULL
          AND a.provider IS NOT NULL AND a.model IS NOT NULL
        GROUP BY 1, 2, 3, 4`,
    )
    .all() as (Omit<AttemptStats, "task"> & { task: string | null })[];
  return rows.flatMap((row) => (row.task ? [{ ...row, task: row.task }] : []));
}
