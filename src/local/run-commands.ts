import { randomBytes } from "node:crypto";
import { endedForGood, rerunTarget } from "../engine/rerun-phase.js";
import type { IssueInput } from "../engine/template-context.js";
import { InvalidTransition, initialState, TERMINAL, transition } from "../engine/transition.js";
import type { RunEvent, RunState } from "../engine/types.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { formatTime, statusSentence } from "../render/format.js";
import {
  findActiveRunForIssue,
  findReplacingRun,
  getRun,
  insertRun,
  isBranchUsed,
  type ProviderChoice,
  type RunRecord,
  updateRunProvider,
} from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
import { endKey } from "../worker/end-key.js";
import { enqueueRunJob, enqueueRunStart } from "../worker/jobs.js";
import { freshBranchFor } from "./issue-file.js";
import type { LocalApp } from "./local-app.js";

/** A command that cannot be carried out as asked; the message says what to do instead. */
export class CommandError extends Error {
  override name = "CommandError";
}

export interface StartInput {
  pipeline: ResolvedPipeline;
  hash: string;
  pipelinePath: string;
  issue: IssueInput;
  provider?: ProviderChoice;
}

/**
 * Creates a run pinned to the pipeline's content and queues it. One run is active per (issue,
 * pipeline): a second start of the same pipeline on the issue is refused, while another pipeline
 * may work the issue at the same time, on a branch that names it.
 */
export function startRun(app: LocalApp, input: StartInput): RunRecord {
  const now = app.now();
  const id = `run-${input.issue.number}-${randomBytes(3).toString("hex")}`;
  const pipelineName = input.pipeline.name;
  writeTransaction(app.db, () => {
    const active = findActiveRunForIssue(app.db, app.repo, input.issue.number, pipelineName);
    // A run handed to a person gives way to a new start: the new run is what the person did about it.
    if (active?.state.status === "needs_human") {
      enqueueRunJob(app.db, {
        runId: active.id,
        // Per round, as `cancel` keys it: a run retried after an earlier cancel must still end.
        key: endKey("cancel", active.state),
        now,
        event: { type: "run.cancelled", by: "a new run on the issue" },
      });
    } else if (active) {
      // The step that moves it on: a run waiting for its review is approved, not resumed.
      const go =
        active.state.status === "awaiting_approval"
          ? `approve it with \`${app.steps.command("approve", active.id)}\``
          : `continue it with \`${app.steps.command("resume", active.id)}\``;
      throw new CommandError(
        `run ${active.id} of pipeline ${pipelineName} ${statusSentence(active.state.status)} on issue #${input.issue.number} (branch ${active.branch}); one run per issue and pipeline: ${go}, or stop it with \`${app.steps.command("cancel", active.id)}\` and start again`,
      );
    }
    // Another pipeline at work on the issue: this run's branch names its pipeline, so the two
    // branches (and pull requests) tell which is which.
    const other = findActiveRunForIssue(app.db, app.repo, input.issue.number);
    const branch = freshBranchFor(
      input.issue,
      (name) => isBranchUsed(app.db, app.repo, name),
      other && other.pipelineName !== pipelineName ? pipelineName : undefined,
    );
    insertRun(app.db, {
      id,
      pipelineName,
      pipelineHash: input.hash,
      pipeline: input.pipeline,
      pipelinePath: input.pipelinePath,
      repo: app.repo,
      issue: input.issue,
      branch,
      state: initialState(),
      ...(input.provider ? { provider: input.provider } : {}),
      createdAt: now,
    });
    enqueueRunStart(app.db, id, now);
  });
  return requireRun(app, id);
}

export function requireRun(app: LocalApp, id: string): RunRecord {
  const run = getRun(app.db, id);
  if (!run) throw noRun(id, app.dbPath, app.steps.command("status"));
  return run;
}

/** Ends a cooldown early when asked to; otherwise a cooldown not yet due is left alone. */
export function fastForward(app: LocalApp, run: RunRecord): void {
  if (run.state.status !== "waiting" || run.state.step !== "wait") return;
  const phaseId = currentPhaseId(run);
  // A run sent back (`retry`) waits again in a new round: the event and its key name the round, or
  // the engine drops it as the old round's timer, and the queue as the old round's fast-forward.
  const round = run.state.round ?? 0;
  const event: RunEvent = { type: "wait.elapsed", phaseId, fastForwarded: true, ...(round ? { round } : {}) };
  const key = `wait/${phaseId}/fast-forward${round ? `/r${round}` : ""}`;
  enqueueRunJob(app.db, { runId: run.id, event, key, now: app.now() });
}

/** Gives the human approval a local run waits for. */
export function approveRun(app: LocalApp, run: RunRecord, by: string): void {
  if (run.state.status !== "awaiting_approval") {
    throw new CommandError(`run ${run.id} is not waiting for approval: ${describe(run.state)}`);
  }
  const phaseId = currentPhaseId(run);
  if (run.state.approvals?.includes(by)) throw new CommandError(`${by} has already approved run ${run.id}`);
  const event: RunEvent = { type: "approval.granted", phaseId, by };
  // A retried run asks again in a new round: the key names it, or it dedupes against the old round's approval.
  const round = run.state.round ? `/r${run.state.round}` : "";
  enqueueRunJob(app.db, { runId: run.id, event, key: `approval/${phaseId}${round}/${by}`, now: app.now() });
}

/** Stops a run; a failed one too, which makes it final (no `retry` revives a cancelled run). */
export function cancelRun(app: LocalApp, run: RunRecord, by: string): void {
  if (TERMINAL.has(run.state.status) && run.state.status !== "failed")
    throw new CommandError(`run ${run.id} cannot be cancelled: ${describe(run.state)}`);
  enqueueRunJob(app.db, {
    runId: run.id,
    event: { type: "run.cancelled", by },
    key: endKey("cancel", run.state),
    now: app.now(),
  });
}

/**
 * `atomic-scrum retry`: sends a run back to `phase`, or to where it failed (the engine's
 * `rerunTarget`), as `/retry` does on GitHub and with the engine's own rules: not a succeeded or
 * cancelled run, not one whose budget is spent. Refused, too, for a run a newer run of its issue
 * and pipeline replaced, as a pull request's `/retry` is: two runs must never work one issue with
 * one pipeline. Checked and queued in one transaction, so a run started meanwhile cannot slip in
 * between. `repin`, when given, becomes the run's provider and settings from this round on (the
 * user fixed a setting the run failed on). Returns the phase.
 */
export function retryRun(
  app: LocalApp,
  runId: string,
  phase: string | undefined,
  by: string,
  repin?: ProviderChoice,
): string {
  return writeTransaction(app.db, () => {
    const run = requireRun(app, runId);
    const newer = findReplacingRun(app.db, run);
    if (newer) throw replaced(app, run, newer);
    const { state, pipeline } = run;
    const ended = endedForGood(state);
    if (ended) throw new CommandError(`run ${run.id} cannot be retried: ${ended}`);
    const phaseId = phase ?? rerunTarget(state, pipeline, "phase.retry");
    if (!phaseId) throw new CommandError(`run ${run.id} has no phase to run again: ${describe(state)}`);
    if (!pipeline.phases.some((p) => p.id === phaseId)) {
      const ids = pipeline.phases.map((p) => p.id).join(", ");
      throw new CommandError(
        `the pipeline ${pipeline.name} of run ${run.id} has no phase "${phaseId}"; its phases: ${ids}`,
      );
    }
    const event: RunEvent = { type: "phase.retry", phaseId, by };
    try {
      transition(state, event, pipeline);
    } catch (error) {
      if (!(error instanceof InvalidTransition)) throw error;
      throw new CommandError(`run ${run.id} cannot be retried: ${error.message}`);
    }
    if (repin) updateRunProvider(app.db, run.id, repin, app.now());
    // One retry per state: the same command twice before the worker takes it queues it once.
    enqueueRunJob(app.db, { runId: run.id, event, key: `retry/${state.seq}`, now: app.now() });
    return phaseId;
  });
}

function replaced(app: LocalApp, run: RunRecord, newer: RunRecord): CommandError {
  const status = newer.state.status;
  const what = TERMINAL.has(status)
    ? status === "failed"
      ? `retry that one: \`${app.steps.command("retry", newer.id)}\``
      : "start a new run with `atomic-scrum run`"
    : `continue that one (\`${app.steps.command("resume", newer.id)}\`) or stop it (\`${app.steps.command("cancel", newer.id)}\`)`;
  return new CommandError(
    `run ${run.id} was replaced by ${newer.id}, a newer ${newer.pipelineName} run of issue #${run.issue.number} (it ${statusSentence(status)}); ${what}`,
  );
}

/** A run id the database does not hold: where we looked, and where the run may be instead. */
export function noRun(id: string, dbPath: string, status: string): CommandError {
  return new CommandError(
    `no run ${id} in ${dbPath}; did you mean --repo DIR (the repository the run was started in) or --db FILE? \`${status}\` lists the runs here`,
  );
}

function currentPhaseId(run: RunRecord): string {
  const phase = run.pipeline.phases[run.state.phaseIndex];
  if (!phase) throw new CommandError(`run ${run.id} has no current phase (it is ${describe(run.state)})`);
  return phase.id;
}

/** Where a run stands, as a clause for people: "it has failed (phase \"code\" failed after 2 attempt(s))". */
export function describe(state: RunState): string {
  // "cancelled by bob" says the status already: "it was cancelled by bob".
  if (state.status === "cancelled" && state.reason?.startsWith("cancelled")) return `it was ${state.reason}`;
  const sentence =
    state.status !== "waiting"
      ? `it ${statusSentence(state.status)}`
      : state.step === "ci"
        ? "it is waiting for CI"
        : `it is cooling down until ${formatTime(state.waitUntil ?? 0)}`;
  return state.reason ? `${sentence} (${state.reason})` : sentence;
}
