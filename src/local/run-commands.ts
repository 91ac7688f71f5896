import { randomBytes } from "node:crypto";
import type { IssueInput } from "../engine/template-context.js";
import { initialState, TERMINAL } from "../engine/transition.js";
import type { RunEvent, RunState } from "../engine/types.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import {
  findActiveRunForIssue,
  getRun,
  insertRun,
  isBranchUsed,
  type ProviderChoice,
  type RunRecord,
} from "../store/runs.js";
import { writeTransaction } from "../store/write-transaction.js";
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
 * Creates a run pinned to the pipeline's content and queues it. A second start for an issue
 * whose branch already has an active run is refused: there is one run per issue at a time.
 */
export function startRun(app: LocalApp, input: StartInput): RunRecord {
  const now = app.now();
  const id = `run-${input.issue.number}-${randomBytes(3).toString("hex")}`;
  writeTransaction(app.db, () => {
    const active = findActiveRunForIssue(app.db, app.repo, input.issue.number);
    // A run handed to a person gives way to a new start: the new run is what the person did about it.
    if (active?.state.status === "needs_human") {
      enqueueRunJob(app.db, {
        runId: active.id,
        key: "cancel",
        now,
        event: { type: "run.cancelled", by: "a new run on the issue" },
      });
    } else if (active) {
      throw new CommandError(
        `run ${active.id} is already ${active.state.status} on ${active.branch}; continue it with \`atomic-scrum resume ${active.id}\``,
      );
    }
    const branch = freshBranchFor(input.issue, (name) => isBranchUsed(app.db, app.repo, name));
    insertRun(app.db, {
      id,
      pipelineName: input.pipeline.name,
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
  if (!run) throw new CommandError(`no run ${id} in ${app.dbPath}; \`atomic-scrum status\` lists the runs`);
  return run;
}

/** Ends a cooldown early when asked to; otherwise a cooldown not yet due is left alone. */
export function fastForward(app: LocalApp, run: RunRecord): void {
  if (run.state.status !== "waiting" || run.state.step !== "wait") return;
  const phaseId = currentPhaseId(run);
  const event: RunEvent = { type: "wait.elapsed", phaseId, fastForwarded: true };
  enqueueRunJob(app.db, { runId: run.id, event, key: `wait/${phaseId}/fast-forward`, now: app.now() });
}

/** Gives the human approval a local run waits for. */
export function approveRun(app: LocalApp, run: RunRecord, by: string): void {
  if (run.state.status !== "awaiting_approval") {
    throw new CommandError(`run ${run.id} is not waiting for approval (it is ${describe(run.state)})`);
  }
  const phaseId = currentPhaseId(run);
  if (run.state.approvals?.includes(by)) throw new CommandError(`${by} has already approved run ${run.id}`);
  const event: RunEvent = { type: "approval.granted", phaseId, by };
  enqueueRunJob(app.db, { runId: run.id, event, key: `approval/${phaseId}/${by}`, now: app.now() });
}

export function cancelRun(app: LocalApp, run: RunRecord, by: string): void {
  if (TERMINAL.has(run.state.status)) throw new CommandError(`run ${run.id} has already ${run.state.status}`);
  enqueueRunJob(app.db, {
    runId: run.id,
    event: { type: "run.cancelled", by },
    key: "cancel",
    now: app.now(),
  });
}

function currentPhaseId(run: RunRecord): string {
  const phase = run.pipeline.phases[run.state.phaseIndex];
  if (!phase) throw new CommandError(`run ${run.id} has no current phase (it is ${describe(run.state)})`);
  return phase.id;
}

export function describe(state: RunState): string {
  return state.reason ? `${state.status}: ${state.reason}` : state.status;
}
