import type { Database } from "./database.js";

// A durable job queue on the `jobs` table. Every function takes the time as `now` (epoch ms) and
// never reads the clock, so tests and the worker decide what time it is.
//
// Ownership of a running job is decided by its fencing token, not by the clock: every claim bumps
// the token, and every write by a holder checks it. A worker whose lease expired and was taken over
// can still run, but nothing it writes afterwards will stick.

export type JobState = "queued" | "running" | "done" | "dead";

/** A row of the `jobs` table, with its payload parsed. */
export interface Job {
  id: number;
  kind: string;
  payload: unknown;
  idempotencyKey: string;
  /** Jobs of one run share a group, so a worker can take only that run's jobs. */
  group: string | null;
  state: JobState;
  /** Not claimable before this time (epoch ms). */
  runAt: number;
  /** Claims so far, including the current one while running. */
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  fencingToken: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A job this worker now holds; pass `token` to every later call about it. */
export type ClaimedJob = Job & { token: number };

/** Retry delay after a failure: `min(baseMs * 2^(attempts - 1), maxMs)`. */
export interface BackoffPolicy {
  /** Delay after the first failed attempt. Default 1 000 ms. */
  baseMs?: number;
  /** Upper bound on the delay. Default 300 000 ms (5 min). */
  maxMs?: number;
}

/** The caller no longer holds the job: its lease was taken over, or the job was finished or released. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(
    readonly jobId: number,
    readonly token: number,
    reason: string,
  ) {
    super(`job ${jobId}: lease with fencing token ${token} is lost (${reason}); stop and write nothing`);
  }
}

interface JobRow {
  id: number;
  kind: string;
  payload: string;
  idempotency_key: string;
  group_key: string | null;
  state: JobState;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  fencing_token: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BACKOFF = { baseMs: 1_000, maxMs: 300_000 };

/**
 * Adds a job unless one with the same idempotency key exists, in which case that job is returned
 * unchanged with `created: false` (a redelivered webhook must not start a second run).
 *
 * @throws TypeError if the payload does not serialise to JSON.
 */
export function enqueue(
  db: Database,
  input: {
    kind: string;
    payload: unknown;
    idempotencyKey: string;
    group?: string;
    runAt?: number;
    maxAttempts?: number;
    now: number;
  },
): { job: Job; created: boolean } {
  const payload = JSON.stringify(input.payload);
  if (payload === undefined)
    throw new TypeError(`job ${input.idempotencyKey}: payload is not JSON-serialisable`);
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  assertPositiveInteger("maxAttempts", maxAttempts);
  const inserted = db
    .prepare<unknown[], JobRow>(
      `INSERT INTO jobs (kind, payload, idempotency_key, group_key, state, run_at, max_attempts, created_at, updated_at)
       VALUES (@kind, @payload, @key, @group, 'queued', @runAt, @maxAttempts, @now, @now)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
    )
    .get({
      kind: input.kind,
      payload,
      key: input.idempotencyKey,
      group: input.group ?? null,
      runAt: input.runAt ?? input.now,
      maxAttempts,
      now: input.now,
    });
  if (inserted) return { job: toJob(inserted), created: true };
  const existing = db
    .prepare<[string], JobRow>("SELECT * FROM jobs WHERE idempotency_key = ?")
    .get(input.idempotencyKey);
  if (!existing) throw new Error(`job ${input.idempotencyKey}: neither inserted nor found`);
  return { job: toJob(existing), created: false };
}

/**
 * Takes the next due job: a queued job whose `runAt` has come, or a running job whose lease has
 * expired (its worker crashed or hung); smallest `runAt` first, then oldest. Bumps attempts and
 * the fencing token. A job whose lease expired on its last attempt is dead-lettered instead.
 *
 * @param kinds only claim these kinds; omitted means any kind.
 * @returns undefined when nothing is due.
 */
export function claim(
  db: Database,
  input: { owner: string; leaseMs: number; now: number; kinds?: string[]; group?: string },
): ClaimedJob | undefined {
  assertPositiveInteger("leaseMs", input.leaseMs);
  const filter = {
    kinds: input.kinds === undefined ? null : JSON.stringify(input.kinds),
    group: input.group ?? null,
  };
  // IMMEDIATE takes the write lock before the SELECT, so two workers cannot both pick the same row.
  // The UPDATE checks the row is still claimable anyway: no test can force a race between the two
  // statements, so the guarantee should not rest on the transaction alone.
  return db
    .transaction(() => {
      buryExhausted(db, input.now);
      const id = nextDueId(db, input.now, filter);
      if (id === undefined) return undefined;
      const row = db
        .prepare<unknown[], JobRow>(
          `UPDATE jobs SET state = 'running', lease_owner = @owner, lease_expires_at = @now + @leaseMs,
             attempts = attempts + 1, fencing_token = fencing_token + 1, updated_at = @now
           WHERE id = @id AND (state = 'queued' OR lease_expires_at <= @now)
           RETURNING *`,
        )
        .get({ id, owner: input.owner, leaseMs: input.leaseMs, now: input.now });
      return row && { ...toJob(row), token: row.fencing_token };
    })
    .immediate();
}

// `kinds` is a JSON array (or null for any) so one statement serves every filter, via json_each;
// `group` (or null for any) narrows to one run's jobs.
const KIND_FILTER =
  "(@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds))) AND (@group IS NULL OR group_key = @group)";

function nextDueId(
  db: Database,
  now: number,
  filter: { kinds: string | null; group: string | null },
): number | undefined {
  // Each branch walks its own partial index in order and stops at its first row; a single WHERE
  // with OR would sort the whole due backlog on every claim.
  const row = db
    .prepare<unknown[], { id: number }>(
      `SELECT id FROM (
         SELECT * FROM (SELECT id, run_at FROM jobs WHERE state = 'queued' AND run_at <= @now AND ${KIND_FILTER}
                        ORDER BY run_at, id LIMIT 1)
         UNION ALL
         SELECT * FROM (SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_expires_at <= @now AND ${KIND_FILTER}
                        ORDER BY run_at, id LIMIT 1)
       ) ORDER BY run_at, id LIMIT 1`,
    )
    .get({ now, ...filter });
  return row?.id;
}

/**
 * A job whose worker dies on every attempt (out of memory, say) never reaches `fail`; without this
 * it would be claimed again forever.
 */
function buryExhausted(db: Database, now: number): number {
  return db
    .prepare(
      `UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now,
         last_error = 'lease expired on the last attempt (worker crashed or hung)'
       WHERE state = 'running' AND lease_expires_at <= @now AND attempts >= max_attempts`,
    )
    .run({ now }).changes;
}

/**
 * Extends the lease to `now + leaseMs` if the caller still holds the job. A lease that expired but
 * was not taken over is renewed: nobody else can have acted on the job without bumping the token.
 *
 * @returns false if the lease is lost; the worker should stop.
 */
export function heartbeat(
  db: Database,
  input: { jobId: number; token: number; leaseMs: number; now: number },
): boolean {
  assertPositiveInteger("leaseMs", input.leaseMs);
  const { changes } = db
    .prepare(
      `UPDATE jobs SET lease_expires_at = @now + @leaseMs, updated_at = @now
       WHERE id = @jobId AND state = 'running' AND fencing_token = @token`,
    )
    .run({ jobId: input.jobId, token: input.token, leaseMs: input.leaseMs, now: input.now });
  return changes === 1;
}

/**
 * Throws unless the job is running under `token`. Call it inside the transaction that writes a
 * job's results, so a stale worker's writes roll back with it. Make that transaction IMMEDIATE:
 * in a deferred one, a takeover committed between this read and the first write fails the
 * transaction with SQLITE_BUSY_SNAPSHOT instead (still safe, but a less helpful error).
 *
 * @throws LeaseLostError
 */
export function assertLease(db: Database, jobId: number, token: number): void {
  heldRow(db, jobId, token);
}

/**
 * Marks the job done.
 *
 * @throws LeaseLostError on a stale token; nothing changes.
 */
export function complete(db: Database, input: { jobId: number; token: number; now: number }): void {
  db.transaction(() => {
    heldRow(db, input.jobId, input.token);
    db.prepare(
      `UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
       WHERE id = @jobId`,
    ).run({ jobId: input.jobId, now: input.now });
  }).immediate();
}

/**
 * Records a failed attempt: the job is queued again after a backoff delay, or dead-lettered once
 * it has used `maxAttempts` attempts.
 *
 * @throws LeaseLostError on a stale token; nothing changes.
 */
export function fail(
  db: Database,
  input: { jobId: number; token: number; error: string; now: number; backoff?: BackoffPolicy },
): { state: "queued" | "dead"; runAt?: number } {
  return db
    .transaction(() => {
      const row = heldRow(db, input.jobId, input.token);
      const dead = row.attempts >= row.max_attempts;
      const runAt = dead ? row.run_at : input.now + backoffDelay(row.attempts, input.backoff);
      db.prepare(
        `UPDATE jobs SET state = @state, run_at = @runAt, last_error = @error,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
         WHERE id = @jobId`,
      ).run({
        jobId: input.jobId,
        state: dead ? "dead" : "queued",
        runAt,
        error: input.error,
        now: input.now,
      });
      return dead ? { state: "dead" as const } : { state: "queued" as const, runAt };
    })
    .immediate();
}

/** The delay before retrying after `attempts` failed attempts: `min(baseMs * 2^(attempts - 1), maxMs)`. */
export function backoffDelay(attempts: number, policy: BackoffPolicy = {}): number {
  const baseMs = policy.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = policy.maxMs ?? DEFAULT_BACKOFF.maxMs;
  return Math.round(Math.min(baseMs * 2 ** Math.max(attempts - 1, 0), maxMs));
}

/**
 * Gives the job back, queued to run at `runAt`, without counting this attempt: for a worker that
 * is shutting down, not failing.
 *
 * @throws LeaseLostError on a stale token; nothing changes.
 */
export function release(
  db: Database,
  input: { jobId: number; token: number; runAt: number; now: number },
): void {
  db.transaction(() => {
    heldRow(db, input.jobId, input.token);
    db.prepare(
      `UPDATE jobs SET state = 'queued', run_at = @runAt, attempts = max(attempts - 1, 0),
         lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
       WHERE id = @jobId`,
    ).run({ jobId: input.jobId, runAt: input.runAt, now: input.now });
  }).immediate();
}

/**
 * Puts a held job off until `runAt` without counting this attempt, noting why: for a job GitHub
 * told to wait (a rate limit, issue 11 class 12). Waiting is not failing, so however often a run
 * is rate limited it never runs out of attempts, and the time survives a restart.
 *
 * @throws LeaseLostError on a stale token; nothing changes.
 */
export function postpone(
  db: Database,
  input: { jobId: number; token: number; runAt: number; reason: string; now: number },
): void {
  db.transaction(() => {
    heldRow(db, input.jobId, input.token);
    db.prepare(
      `UPDATE jobs SET state = 'queued', run_at = @runAt, attempts = max(attempts - 1, 0), last_error = @reason,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
       WHERE id = @jobId`,
    ).run({ jobId: input.jobId, runAt: input.runAt, reason: input.reason, now: input.now });
  }).immediate();
}

/**
 * Queues again every running job whose lease has expired, keeping its fencing token so the old
 * holder stays locked out; one that expired on its last attempt is dead-lettered. Call on worker
 * start.
 *
 * @returns how many jobs were taken back (queued again or dead-lettered).
 */
export function reclaimExpired(db: Database, now: number): number {
  return db
    .transaction(() => {
      const buried = buryExhausted(db, now);
      const { changes } = db
        .prepare(
          `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
           WHERE state = 'running' AND lease_expires_at <= @now`,
        )
        .run({ now });
      return buried + changes;
    })
    .immediate();
}

/** The job with this id, if any. */
export function getJob(db: Database, id: number): Job | undefined {
  const row = db.prepare<[number], JobRow>("SELECT * FROM jobs WHERE id = ?").get(id);
  return row && toJob(row);
}

/** Jobs in id order, optionally only those in one state. */
export function listJobs(db: Database, filter: { state?: JobState } = {}): Job[] {
  return db
    .prepare<unknown[], JobRow>("SELECT * FROM jobs WHERE @state IS NULL OR state = @state ORDER BY id")
    .all({ state: filter.state ?? null })
    .map(toJob);
}

/**
 * When the next job becomes claimable: the earliest `runAt` of a queued job or lease expiry of a
 * running one, so an idle worker knows how long to sleep. Given `now`, a time already past is
 * returned as `now`.
 *
 * @returns undefined when no job is queued or running.
 */
export function nextRunAt(
  db: Database,
  options: { now?: number; kinds?: string[]; group?: string } = {},
): number | undefined {
  const kinds = options.kinds === undefined ? null : JSON.stringify(options.kinds);
  const group = options.group ?? null;
  const row = db
    .prepare<unknown[], { at: number | null }>(
      `SELECT min(at) AS at FROM (
         SELECT min(run_at) AS at FROM jobs WHERE state = 'queued' AND ${KIND_FILTER}
         UNION ALL
         SELECT min(lease_expires_at) FROM jobs WHERE state = 'running' AND ${KIND_FILTER}
       )`,
    )
    .get({ kinds, group });
  const at = row?.at ?? undefined;
  if (at === undefined) return undefined;
  return options.now === undefined ? at : Math.max(at, options.now);
}

/** The row of a job the caller holds, or LeaseLostError saying why it does not. */
function heldRow(db: Database, jobId: number, token: number): JobRow {
  const row = db.prepare<[number], JobRow>("SELECT * FROM jobs WHERE id = ?").get(jobId);
  if (!row) throw new LeaseLostError(jobId, token, "no such job");
  if (row.fencing_token !== token) {
    throw new LeaseLostError(jobId, token, `the job was claimed again, with token ${row.fencing_token}`);
  }
  if (row.state !== "running") throw new LeaseLostError(jobId, token, `the job is ${row.state}`);
  return row;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    idempotencyKey: row.idempotency_key,
    group: row.group_key,
    state: row.state,
    runAt: row.run_at,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    fencingToken: row.fencing_token,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/**
 * Ends the leases held by owners known to be gone (a local process that was killed), so their
 * jobs are claimable now instead of when the lease would have run out.
 *
 * @returns how many leases were ended.
 */
export function expireLeasesOf(db: Database, owners: readonly string[], now: number): number {
  if (owners.length === 0) return 0;
  return db
    .prepare(
      `UPDATE jobs SET lease_expires_at = @now, updated_at = @now
       WHERE state = 'running' AND lease_owner IN (SELECT value FROM json_each(@owners))`,
    )
    .run({ now, owners: JSON.stringify(owners) }).changes;
}

/**
 * Restarts a held job's attempt count at this attempt: it made progress, so earlier failures say
 * nothing about the step it is on now. A long run carried by one job would otherwise spend its
 * attempts across every phase.
 *
 * @throws LeaseLostError on a stale token; nothing changes.
 */
export function resetAttempts(db: Database, input: { jobId: number; token: number; now: number }): void {
  heldRow(db, input.jobId, input.token);
  db.prepare("UPDATE jobs SET attempts = 1, updated_at = @now WHERE id = @jobId AND attempts > 1").run(input);
}

/** Every job of a group (a run), oldest first. */
export function listGroupJobs(db: Database, group: string): Job[] {
  return db
    .prepare<[string], JobRow>("SELECT * FROM jobs WHERE group_key = ? ORDER BY id")
    .all(group)
    .map(toJob);
}

/**
 * Whether another job of `group`, due by `now`, carries an outside event (a cancellation, an
 * approval): the job working the group then stops between effects so that one is applied next.
 */
export function hasDueEventJob(db: Database, group: string, exceptJobId: number, now: number): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM jobs WHERE group_key = ? AND id != ? AND state = 'queued' AND run_at <= ?
           AND json_extract(payload, '$.event') IS NOT NULL LIMIT 1`,
      )
      .get(group, exceptJobId, now) !== undefined
  );
}
