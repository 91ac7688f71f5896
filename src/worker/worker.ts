import {
  attemptKey,
  type BreakerKey,
  type BreakerSettings,
  breakerKeyFor,
  breakerName,
  breakerOutcome,
  breakerSettings,
} from "../engine/breaker.js";
import { tierAbove } from "../engine/tiers.js";
import {
  InvalidTransition,
  NEEDS_HUMAN_LABEL,
  nextEffect,
  TERMINAL,
  transition,
} from "../engine/transition.js";
import type { Effect, RunEvent, RunState } from "../engine/types.js";
import { ForgeRateLimited, ForgeRefusal, ForgeUnreachable } from "../forge/forge.js";
import { desiredChecks, fingerprint } from "../render/check-runs.js";
import { renderStatus } from "../render/status-comment.js";
import { admitAttempt, countOutcome } from "../store/breakers.js";
import { listCheckRuns, listUnprojectedRuns, markProjected, saveCheckRun } from "../store/check-runs.js";
import {
  assertLease,
  type ClaimedJob,
  claim,
  complete,
  fail,
  hasDueEventJob,
  heartbeat,
  LeaseLostError,
  listGroupJobs,
  nextRunAt,
  postpone,
  reclaimExpired,
  release,
  resetAttempts,
} from "../store/queue.js";
import {
  appendEvent,
  countEffects,
  findReplacingRun,
  getEffect,
  getRun,
  listAttempts,
  listRunningRuns,
  putEffect,
  type RunRecord,
  saveRunState,
} from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import {
  enqueueCiDeadline,
  enqueueCiPoll,
  enqueueRunJob,
  RUN_JOB,
  type RunJobPayload,
  type Steer,
} from "./jobs.js";
import { type PerformDeps, performEffect } from "./perform-effect.js";
import { projectAttempt } from "./project-attempt.js";

/** Thrown by a hook to stop the worker dead, leaving its lease held: a crash, for tests and hard stops. */
export class WorkerStopped extends Error {
  override name = "WorkerStopped";
}

export interface Progress {
  runId: string;
  event: RunEvent | { type: "job.failed"; error: string; retryAt?: number };
  state: RunState;
  run: RunRecord;
}

export interface WorkerOptions extends PerformDeps {
  /** Who holds leases: unique per worker process. */
  owner: string;
  leaseMs?: number;
  /** The circuit breaker of every (provider, model, task type, tier); defaults in {@link DEFAULT_BREAKER_SETTINGS}. */
  breaker?: Partial<BreakerSettings>;
  /** Cooldowns end at once (demos, tests): the event log records that they were fast-forwarded. */
  fastForwardWaits?: boolean;
  onProgress?: (progress: Progress) => void;
  /**
   * Whether `steer.login` still holds the role a queued command needs, read again right before its
   * event applies (GitHub: the collaborator-permission API). Without it, commands are not re-checked.
   */
  authorize?: (run: RunRecord, steer: Steer) => Promise<boolean>;
  /** Told when writing the status comment or checks of a run failed; they are written again later. */
  warn?: (message: string) => void;
  /** How a person moves a run on, shown in the status comment. */
  hints: {
    resume: (runId: string) => string;
    approve: (runId: string) => string;
    /** How a person starts the pipeline again on the issue (which cancels a run that needs one). */
    restart: (runId: string) => string;
    /** How a person sends a failed run back; the status comment offers none without it. */
    retry?: (runId: string) => string;
  };
  /** Crash points for tests: called after an effect is done, before and after it is recorded. */
  hooks?: {
    beforeRecord?: (effect: Effect, event: RunEvent) => void;
    afterRecord?: (effect: Effect, event: RunEvent) => void;
  };
}

/** Events after which the status comment is rewritten: about one write per phase, not per step. */
const STATUS_EVENTS = new Set<RunEvent["type"]>([
  "branch.prepared",
  "phase.rerouted",
  "phase.commented",
  "wait.scheduled",
  "approval.requested",
  "handoff.done",
  "wait.elapsed",
  "approval.granted",
  "approval.revoked",
  "run.cancelled",
  "run.merged",
  "merge.refused",
  "run.aborted",
  "phase.retry",
  "phase.escalate",
  "ci.pending",
  "ci.completed",
]);

/**
 * The imperative shell: claims run jobs, performs the effects the engine asks for and records
 * each outcome in one transaction with a lease check, so a worker that lost its lease writes
 * nothing and a worker killed anywhere restarts without repeating what was recorded.
 */
export function createWorker(options: WorkerOptions) {
  const leaseMs = options.leaseMs ?? 60_000;
  const { db } = options;
  const breaker = breakerSettings(options.breaker);

  /** Works due jobs until none is left; `group` limits it to one run's jobs. */
  let stopping = false;

  async function runUntilIdle(
    scope: { group?: string } = {},
  ): Promise<{ processed: number; nextRunAt: number | undefined }> {
    reclaimExpired(db, options.now());
    recoverStalled(scope.group);
    await reproject(scope.group);
    let processed = 0;
    for (;;) {
      if (stopping) break;
      const job = claim(db, {
        owner: options.owner,
        leaseMs,
        now: options.now(),
        kinds: [RUN_JOB],
        ...scope,
      });
      if (!job) break;
      await processJob(job);
      processed++;
    }
    return { processed, nextRunAt: nextRunAt(db, { kinds: [RUN_JOB], ...scope }) };
  }

  /**
   * A run that should be moving but has no job (its last job was dead-lettered, or its jobs were
   * lost to a bug) gets one: an abort naming the last error, or a job that picks it up again.
   */
  function recoverStalled(group?: string): void {
    const now = options.now();
    for (const run of listRunningRuns(db, group)) {
      const jobs = listGroupJobs(db, run.id);
      if (jobs.some((job) => job.state === "queued" || job.state === "running")) continue;
      const last = jobs.at(-1);
      const dead = last?.state === "dead" ? last : undefined;
      if (dead) {
        const reason = `the worker gave up after ${dead.attempts} attempts: ${firstLine(dead.lastError)}`;
        enqueueRunJob(db, {
          runId: run.id,
          key: `abort/${dead.id}`,
          event: { type: "run.aborted", reason },
          now,
        });
      } else {
        enqueueRunJob(db, { runId: run.id, key: `advance/${run.state.seq}`, now });
      }
    }
  }

  /**
   * A run whose last state never reached its status comment and checks (the process died after
   * recording it, or GitHub failed the write) gets them written now: no run shows as running
   * after it ended. A failure here is told and tried again at the next pass.
   */
  async function reproject(group?: string): Promise<void> {
    for (const runId of listUnprojectedRuns(db, group)) {
      try {
        await refreshStatus(runId);
      } catch (error) {
        // A repository the app cannot reach any more will never take the writes: stop trying.
        if (error instanceof ForgeUnreachable) markProjected(db, runId, getRun(db, runId)?.state.seq ?? 0);
        options.warn?.(`run ${runId}: writing its status and checks failed: ${(error as Error).message}`);
      }
    }
  }

  async function processJob(job: ClaimedJob): Promise<void> {
    const payload = job.payload as RunJobPayload;
    try {
      await advance(job, payload);
      complete(db, { jobId: job.id, token: job.token, now: options.now() });
    } catch (error) {
      if (error instanceof WorkerStopped) throw error;
      if (error instanceof LeaseLostError) return; // another worker owns the job now
      if (error instanceof Draining) {
        // Stopping: the effect in hand is done and recorded; the next process takes the job on.
        const now = options.now();
        release(db, { jobId: job.id, token: job.token, runAt: now, now });
        return;
      }
      if (error instanceof ForgeRateLimited) {
        onRateLimited(job, payload.runId, error);
        return;
      }
      onJobError(job, payload.runId, error as Error);
    }
  }

  /**
   * GitHub said to wait: the job is put off until then, its attempt not counted (issue 11, class
   * 12). A rate limit is GitHub's load, not the run's fault, so it never ends the run.
   */
  function onRateLimited(job: ClaimedJob, runId: string, error: ForgeRateLimited): void {
    const now = options.now();
    const runAt = Math.max(error.until, now);
    try {
      db.transaction(() => {
        postpone(db, { jobId: job.id, token: job.token, runAt, reason: error.message, now });
        const note = { type: "job.postponed", until: runAt, reason: error.message };
        appendEvent(db, runId, note, now);
      }).immediate();
    } catch (failure) {
      if (failure instanceof LeaseLostError) return;
      throw failure;
    }
    options.warn?.(`run ${runId}: ${error.message}`);
  }

  /** Backs the job off, or dead-letters it and ends the run, in one transaction. */
  function onJobError(job: ClaimedJob, runId: string, error: Error): void {
    const now = options.now();
    let outcome: ReturnType<typeof fail>;
    try {
      outcome = writeTransaction(db, () => {
        const result = fail(db, {
          jobId: job.id,
          token: job.token,
          error: error.stack ?? error.message,
          now,
        });
        const event = {
          type: "job.failed" as const,
          error: error.message,
          ...(result.runAt ? { retryAt: result.runAt } : {}),
        };
        appendEvent(db, runId, event, now);
        const run = getRun(db, runId);
        if (result.state === "dead" && run && !TERMINAL.has(run.state.status)) {
          const reason = `the worker gave up after ${job.attempts} attempts: ${error.message}`;
          enqueueRunJob(db, { runId, key: `abort/${job.id}`, event: { type: "run.aborted", reason }, now });
        }
        return result;
      });
    } catch (failure) {
      if (failure instanceof LeaseLostError) return; // someone else holds the job and will handle it
      throw failure;
    }
    const run = getRun(db, runId);
    if (!run) return;
    const event = {
      type: "job.failed" as const,
      error: error.message,
      ...(outcome.runAt ? { retryAt: outcome.runAt } : {}),
    };
    options.onProgress?.({ runId, event, state: run.state, run });
  }

  async function advance(job: ClaimedJob, payload: RunJobPayload): Promise<void> {
    if (payload.event) {
      const run = getRun(db, payload.runId);
      if (!run) return;
      // A job taken over after a crash (or put back by a drain, or retried after an error) may
      // carry an event it applied already. The application is recorded with the event, so it is
      // never applied twice: a /retry still fits the state after it ran, and would run again.
      const applied = `${run.id}/job-${job.id}/event`;
      if (
        !getEffect(db, applied) &&
        (await steerAllowed(job, run, payload, applied)) &&
        applies(run, payload.event)
      ) {
        await record(job, run, payload.event, undefined, applied);
      }
    }
    for (;;) {
      const run = getRun(db, payload.runId);
      if (!run) return;
      const effect = nextEffect(run.state, run.pipeline);
      if (!effect) return;
      // A cancellation (say, the pull request was closed) waits behind this job in the run's
      // group: stop between effects so it applies before another model call or commit. The job
      // that carries it goes on moving the run if the event leaves anything to do.
      if (hasDueEventJob(db, payload.runId, job.id, options.now())) return;
      if (stopping) throw new Draining();
      if (effect.kind === "call_agent" && (await reroute(job, run, effect))) continue;
      const event = await withLease(job, (signal) => performSafely(run, effect, signal));
      options.hooks?.beforeRecord?.(effect, event);
      await record(job, run, event, effect);
      options.hooks?.afterRecord?.(effect, event);
    }
  }

  /** A refusal on principle, or a repository the forge cannot reach any more, ends the run instead of retrying. */
  async function performSafely(run: RunRecord, effect: Effect, signal: AbortSignal): Promise<RunEvent> {
    try {
      return await performEffect(options, run, effect, signal);
    } catch (error) {
      if (error instanceof ForgeRefusal) return { type: "run.aborted", reason: `refused: ${error.message}` };
      if (error instanceof ForgeUnreachable) return { type: "run.aborted", reason: error.message };
      throw error;
    }
  }

  /**
   * A slash command's event applies only if its author still has the role it needs: access can be
   * taken away between the comment and the job. A refusal is noted and marked applied, so it is
   * not asked again.
   */
  async function steerAllowed(
    job: ClaimedJob,
    run: RunRecord,
    payload: RunJobPayload,
    applied: string,
  ): Promise<boolean> {
    const { steer, event } = payload;
    if (!steer || !event || !options.authorize) return true;
    if (await options.authorize(run, steer)) return true;
    writeTransaction(db, () => {
      assertLease(db, job.id, job.token);
      const why = `@${steer.login} no longer has ${steer.needs} access to the repository`;
      const note = { type: "event.dropped", dropped: event.type, why };
      appendEvent(db, run.id, note, options.now());
      putEffect(db, applied, run.id, "job_event", { type: event.type, refused: true }, options.now());
    });
    return false;
  }

  /** An outside event that no longer fits (a second approval, a late timer) is dropped, with a note. */
  function applies(run: RunRecord, event: RunEvent): boolean {
    try {
      transition(run.state, event, run.pipeline);
      return true;
    } catch (error) {
      if (!(error instanceof InvalidTransition)) throw error;
      const note = { type: "event.dropped", dropped: event.type, why: error.message };
      writeTransaction(db, () => appendEvent(db, run.id, note, options.now()));
      return false;
    }
  }

  async function record(
    job: ClaimedJob,
    run: RunRecord,
    event: RunEvent,
    effect: Effect | undefined,
    /** For an event a job carries: marks it applied, in the same transaction. */
    appliedKey?: string,
  ): Promise<void> {
    const now = options.now();
    const state = db
      .transaction((): RunState | undefined => {
        assertLease(db, job.id, job.token);
        const fresh = getRun(db, run.id);
        if (!fresh || fresh.state.seq !== run.state.seq)
          throw new LeaseLostError(job.id, job.token, "the run moved on");
        const next = transition(fresh.state, event, fresh.pipeline).state;
        // Checked in the transaction that would save it: a start commits before or after, never between.
        const why = revivesReplaced(fresh, next);
        if (why) {
          const note = { type: "event.dropped", dropped: event.type, why };
          appendEvent(db, run.id, note, now);
          if (appliedKey)
            putEffect(db, appliedKey, run.id, "job_event", { type: event.type, refused: true }, now);
          return undefined;
        }
        const phaseId = fresh.pipeline.phases[fresh.state.phaseIndex]?.id;
        if (!saveRunState(db, run.id, next, fresh.state.seq, now)) {
          throw new LeaseLostError(job.id, job.token, "the run was saved by someone else");
        }
        appendEvent(db, run.id, event, now);
        logEscalations(run.id, phaseId, fresh.state, next, now);
        countForBreaker(fresh, event, now);
        if (effect) putEffect(db, `${run.id}/${effect.key}`, run.id, effect.kind, event, now);
        if (appliedKey) putEffect(db, appliedKey, run.id, "job_event", { type: event.type }, now);
        projectAttempt(db, { runId: run.id, phaseId }, fresh.state, event, now);
        if (event.type === "wait.scheduled")
          scheduleWaitEnd(run.id, phaseId ?? "wait", next, event.until, now);
        if (event.type === "ci.pending" && phaseId) {
          const until = next.current?.ciUntil ?? event.until;
          enqueueCiDeadline(db, { runId: run.id, phaseId, attempt: next.attempt, until, now });
          enqueueCiPoll(db, { runId: run.id, phaseId, attempt: next.attempt, until, now });
        }
        // Progress: failures before this step say nothing about the next one.
        resetAttempts(db, { jobId: job.id, token: job.token, now });
        return next;
      })
      .immediate();
    if (!state) return;
    options.onProgress?.({ runId: run.id, event, state, run });
    if (STATUS_EVENTS.has(event.type) || TERMINAL.has(state.status)) await refreshStatus(run.id);
  }

  /**
   * Why `next` must not be saved, if it must not: it brings an ended run (a failed one, by
   * `/retry` or `atomic-scrum retry`) back to work while a newer run of its issue exists. The
   * retry was checked when it was asked for, but the old run stays inactive until the worker
   * applies it, so a run started in between (the label added again) is allowed; reviving the old
   * one then would leave two runs working one issue (issue 11, class 10).
   */
  function revivesReplaced(fresh: RunRecord, next: RunState): string | undefined {
    if (!TERMINAL.has(fresh.state.status) || TERMINAL.has(next.status)) return undefined;
    const newer = findReplacingRun(db, fresh);
    if (!newer) return undefined;
    return `run ${newer.id}, a newer run of issue #${fresh.issue.number}, replaced it before the ${
      fresh.state.status
    } run could be sent back`;
  }

  /**
   * Before the first try of a phase at a tier, asks the breaker of (the run's provider, the
   * model the tier maps to for the run, task, tier). Open (or
   * half-open with its trial under way elsewhere), the attempt moves one tier up before it runs,
   * as a `phase.rerouted` event; the next pass asks the breaker of that tier in turn. At the top
   * tier there is nowhere to go and the attempt runs. The decision is kept as an effect, taken in
   * one transaction with the trial it may claim: a job redelivered after a crash goes on with the
   * call it had started (and whose answer may be kept) instead of deciding again.
   */
  async function reroute(
    job: ClaimedJob,
    run: RunRecord,
    effect: Extract<Effect, { kind: "call_agent" }>,
  ): Promise<boolean> {
    const phase = run.pipeline.phases[run.state.phaseIndex];
    if (phase?.kind !== "agent" || run.state.triesAtTier !== 1) return false;
    const now = options.now();
    const key = attemptKey(run.id, phase.id, effect.attempt);
    const above = tierAbove(effect.tier);
    const event = db
      .transaction((): RunEvent | undefined => {
        assertLease(db, job.id, job.token);
        const decided = `${run.id}/${effect.key}/route-${effect.tier}`;
        if (getEffect(db, decided)) return undefined;
        const at = breakerKeyFor(phase, effect.tier, options.providerFor(run));
        const admission = admitAttempt(db, at, { key, now }, breaker);
        if (!admission.allowed && above) {
          return {
            type: "phase.rerouted",
            phaseId: phase.id,
            attempt: effect.attempt,
            from: effect.tier,
            to: above,
            breaker: admission.state,
            reason: `${breakerName(at)}: ${admission.reason}`,
          };
        }
        const trial = admission.allowed && admission.trial;
        putEffect(db, decided, run.id, "route", { tier: effect.tier, trial }, now);
        return undefined;
      })
      .immediate();
    if (!event) return false;
    await record(job, run, event, undefined);
    return true;
  }

  /**
   * Counts what the event says about its attempt's tier, inside the transaction that records it,
   * toward the breaker the attempt asked (the run's provider and the tier's model, even when a
   * fallback provider answered: that breaker's trial must hear how it ended).
   */
  function countForBreaker(run: RunRecord, event: RunEvent, now: number): void {
    const phase = run.pipeline.phases[run.state.phaseIndex];
    const tier = run.state.tier;
    const result = breakerOutcome(run.state, event);
    if (!result || phase?.kind !== "agent" || !tier) return;
    const at = breakerKeyOf(run, phase, tier);
    if (!at) return;
    const key = attemptKey(run.id, phase.id, run.state.attempt);
    countOutcome(db, at, { result, key, now }, breaker);
  }

  /**
   * The breaker key of the run's attempt at `tier`; undefined when the run's provider cannot be
   * built (a fixtures file gone since): then no call was made, so there is nothing to count, and
   * the event that ends the run must still be recorded.
   */
  function breakerKeyOf(
    run: RunRecord,
    phase: { task: BreakerKey["task"]; tier: BreakerKey["tier"]; model?: string },
    tier: BreakerKey["tier"],
  ): BreakerKey | undefined {
    try {
      return breakerKeyFor(phase, tier, options.providerFor(run));
    } catch {
      return undefined;
    }
  }

  /** An escalation is a consequence of an event, not an event: the log gets a note saying why. */
  function logEscalations(
    runId: string,
    phaseId: string | undefined,
    before: RunState,
    after: RunState,
    now: number,
  ): void {
    if (!phaseId) return;
    const known = before.tierChanges?.[phaseId]?.length ?? 0;
    for (const change of after.tierChanges?.[phaseId]?.slice(known) ?? []) {
      if (change.cause !== "escalation") continue;
      const { cause: _cause, ...rest } = change;
      const note = { type: "phase.escalated", phaseId, ...rest };
      appendEvent(db, runId, note, now);
    }
  }

  function scheduleWaitEnd(
    runId: string,
    phaseId: string,
    state: RunState,
    until: number,
    now: number,
  ): void {
    const fastForwarded = options.fastForwardWaits === true;
    // A run sent back to an earlier phase (`/retry`) enters the cooldown again in a new round.
    const round = state.round ?? 0;
    enqueueRunJob(db, {
      runId,
      event: { type: "wait.elapsed", phaseId, fastForwarded, ...(round ? { round } : {}) },
      key: round ? `wait/${phaseId}/r${round}` : `wait/${phaseId}`,
      now,
      runAt: fastForwarded ? now : until,
    });
  }

  async function refreshStatus(runId: string): Promise<void> {
    const run = getRun(db, runId);
    if (!run) return;
    const body = renderStatus({
      runId,
      pipeline: run.pipeline,
      state: run.state,
      attempts: listAttempts(db, runId),
      hints: {
        resume: options.hints.resume(runId),
        approve: options.hints.approve(runId),
        restart: options.hints.restart(runId),
        ...(options.hints.retry ? { retry: options.hints.retry(runId) } : {}),
      },
    });
    const forge = options.forgeFor(run);
    await unlabelIfBack(run, forge);
    // Checks go first (so a phase's requests stay together), but a checks API that fails does not
    // hold back the status comment or the run: the state stays unprojected and is written again.
    let checksWritten = true;
    try {
      await syncChecks(run, forge);
    } catch (error) {
      // Rate limited: the status comment would be refused too; the job waits instead.
      if (error instanceof ForgeUnreachable || error instanceof ForgeRateLimited) throw error;
      checksWritten = false;
      options.warn?.(
        `run ${runId}: writing its checks failed, to be tried again: ${(error as Error).message}`,
      );
    }
    await forge.updateStatus({ runId, body });
    if (checksWritten) markProjected(db, runId, run.state.seq);
  }

  /**
   * A run back from a person's hands (sent back with /retry, cancelled, merged) has the label that
   * called for one taken off; each hand-off is answered by one removal, kept as an effect, so a
   * removal a crash or an error cut off is done at the next status write (or the next start).
   */
  async function unlabelIfBack(run: RunRecord, forge: ReturnType<PerformDeps["forgeFor"]>): Promise<void> {
    if (run.state.status === "needs_human") return;
    const handOffs = countEffects(db, run.id, "hand_off");
    const removed = countEffects(db, run.id, "unlabel");
    if (removed >= handOffs) return;
    try {
      await forge.removeLabel({ runId: run.id, label: NEEDS_HUMAN_LABEL });
    } catch (error) {
      if (error instanceof ForgeUnreachable || error instanceof ForgeRateLimited) throw error;
      // Tried again at the next status write; it does not hold the status comment back.
      options.warn?.(`run ${run.id}: taking ${NEEDS_HUMAN_LABEL} off failed: ${(error as Error).message}`);
      return;
    }
    // One removal answers every hand-off so far.
    const now = options.now();
    writeTransaction(db, () => {
      for (let n = removed + 1; n <= handOffs; n++)
        putEffect(db, `${run.id}/unlabel/${n}`, run.id, "unlabel", { label: NEEDS_HUMAN_LABEL }, now);
    });
  }

  /**
   * Writes the run's check runs that differ from what was last written (see `desiredChecks`). A
   * completed check is never reopened: a new check of the same name on the same commit replaces
   * it, as GitHub shows (and branch protection reads) the newest.
   */
  async function syncChecks(run: RunRecord, forge: ReturnType<PerformDeps["forgeFor"]>): Promise<void> {
    const written = listCheckRuns(db, run.id);
    const desired = desiredChecks({
      pipeline: run.pipeline,
      state: run.state,
      attempts: listAttempts(db, run.id),
      written,
    });
    for (const check of desired) {
      const print = fingerprint(check);
      const row = written.find((w) => w.name === check.name && w.headSha === check.headSha);
      if (row?.fingerprint === print) continue;
      let known = row && { id: row.checkId, completed: row.completed };
      // A create whose answer was lost left its row without an id: find the check it made, if any.
      if (known?.id === "")
        known = await forge.findCheck({ runId: run.id, name: check.name, headSha: check.headSha });
      const reopen = known?.completed === true && check.status !== "completed";
      const id = known && !reopen ? known.id : undefined;
      // Noted before a create, so a crash between GitHub's answer and the row is found next time.
      if (id === undefined) {
        const pending = {
          runId: run.id,
          name: check.name,
          headSha: check.headSha,
          checkId: "",
          fingerprint: "",
        };
        saveCheckRun(db, { ...pending, completed: false }, options.now());
      }
      const result = await forge.setCheck({ runId: run.id, ...check, ...(id === undefined ? {} : { id }) });
      saveCheckRun(
        db,
        {
          runId: run.id,
          name: check.name,
          headSha: check.headSha,
          checkId: result.id,
          fingerprint: print,
          completed: check.status === "completed",
        },
        options.now(),
      );
    }
  }

  /** Keeps the lease alive during a long effect; a lost lease aborts the effect. */
  async function withLease<T>(job: ClaimedJob, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setInterval(
      () => {
        const held = heartbeat(db, { jobId: job.id, token: job.token, leaseMs, now: options.now() });
        if (!held) controller.abort(new LeaseLostError(job.id, job.token, "heartbeat refused"));
      },
      Math.max(1000, Math.floor(leaseMs / 3)),
    );
    try {
      const result = await work(controller.signal);
      if (controller.signal.aborted) throw controller.signal.reason;
      return result;
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Drains: the job in hand stops after the effect it is performing (recorded as usual) and goes
   * back to the queue, and no further job is claimed. `runUntilIdle` then returns.
   */
  const stop = (): void => {
    stopping = true;
  };

  return { runUntilIdle, processJob, refreshStatus, stop };
}

/** Thrown between effects while the worker drains; the job is released, not failed. */
class Draining extends Error {
  override name = "Draining";
}

function firstLine(text: string | null): string {
  return (text ?? "unknown error").split("\n")[0] ?? "unknown error";
}

export type Worker = ReturnType<typeof createWorker>;
