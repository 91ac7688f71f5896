import type { Database } from "better-sqlite3";
import { TERMINAL } from "../engine/transition.js";

/** A check run the app wrote: its name, commit, GitHub id, and a fingerprint of what it said. */
export interface CheckRunRow {
  runId: string;
  name: string;
  headSha: string;
  checkId: string;
  fingerprint: string;
  completed: boolean;
}

export function listCheckRuns(db: Database, runId: string): CheckRunRow[] {
  const rows = db
    .prepare(
      "SELECT run_id, name, head_sha, check_id, fingerprint, completed FROM check_runs WHERE run_id = ? ORDER BY rowid",
    )
    .all(runId) as {
    run_id: string;
    name: string;
    head_sha: string;
    check_id: string;
    fingerprint: string;
    completed: number;
  }[];
  return rows.map((row) => ({
    runId: row.run_id,
    name: row.name,
    headSha: row.head_sha,
    checkId: row.check_id,
    fingerprint: row.fingerprint,
    completed: row.completed === 1,
  }));
}

export function saveCheckRun(db: Database, row: CheckRunRow, now: number): void {
  db.prepare(
    `INSERT INTO check_runs (run_id, name, head_sha, check_id, fingerprint, completed, updated_at)
     VALUES (@runId, @name, @headSha, @checkId, @fingerprint, @completed, @now)
     ON CONFLICT (run_id, name, head_sha) DO UPDATE SET
       check_id = excluded.check_id, fingerprint = excluded.fingerprint,
       completed = excluded.completed, updated_at = excluded.updated_at`,
  ).run({ ...row, completed: row.completed ? 1 : 0, now });
}

/** Records that the status comment and checks now show the run as of `seq` (never moves back). */
export function markProjected(db: Database, runId: string, seq: number): void {
  db.prepare("UPDATE runs SET projected_seq = MAX(projected_seq, ?) WHERE id = ?").run(seq, runId);
}

/**
 * Runs that have ended (or rest, waiting for a person) since their status comment and checks were
 * last written: a crash or a GitHub error cut those writes off, and no later event will redo them.
 */
export function listUnprojectedRuns(db: Database, group?: string, limit = 50): string[] {
  const statuses = [...TERMINAL, "needs_human", "awaiting_approval", "waiting"];
  const rows = db
    .prepare(
      `SELECT id FROM runs WHERE projected_seq < json_extract(state, '$.seq')
         AND status IN (${statuses.map(() => "?").join(", ")})
         AND (? IS NULL OR id = ?)
       ORDER BY updated_at LIMIT ?`,
    )
    .all(...statuses, group ?? null, group ?? null, limit) as { id: string }[];
  return rows.map((row) => row.id);
}
