import type { Database } from "better-sqlite3";
import { getRun, type RunRecord } from "./runs.js";

/**
 * The newest run of an issue, ended or not: a slash command on the issue speaks to it (`/status`
 * of a finished run, `/retry` of a failed one). Older runs of the issue are superseded.
 */
export function findLatestRunForIssue(
  db: Database,
  repo: { owner: string; name: string },
  issueNumber: number,
): RunRecord | undefined {
  const row = db
    .prepare(
      `SELECT id FROM runs WHERE json_extract(repo, '$.owner') = @owner AND json_extract(repo, '$.name') = @name
         AND json_extract(issue, '$.number') = @number
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get({ owner: repo.owner, name: repo.name, number: issueNumber }) as { id: string } | undefined;
  return row ? getRun(db, row.id) : undefined;
}

/** The run that used `branch`, ended or not: each run has a branch of its own, so at most one. */
export function findRunForBranch(
  db: Database,
  repo: { owner: string; name: string },
  branch: string,
): RunRecord | undefined {
  const row = db
    .prepare(
      `SELECT id FROM runs WHERE branch = @branch
         AND json_extract(repo, '$.owner') = @owner AND json_extract(repo, '$.name') = @name
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get({ owner: repo.owner, name: repo.name, branch }) as { id: string } | undefined;
  return row ? getRun(db, row.id) : undefined;
}
