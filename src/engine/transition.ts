import type { ResolvedPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import { overBudget } from "./budget.js";
import { checksGateOf, withChecksResult } from "./checks-gate.js";
import { InvalidTransition } from "./invalid-transition.js";
import { outputText } from "./output-text.js";
import { remember, rerunPhase } from "./rerun-phase.js";
import { statusSentence } from "./status-words.js";
import { tierAbove } from "./tiers.js";
import type { Effect, RunEvent, RunEventType, RunState, TierChange, Totals } from "./types.js";

export { InvalidTransition } from "./invalid-transition.js";

/** The state a new run starts in. */
export function initialState(): RunState {
  return {
    seq: 0,
    status: "running",
    step: "prepare",
    phaseIndex: 0,
    attempt: 0,
    triesAtTier: 0,
    outputs: {},
    totals: { tokens: 0, costUsd: 0 },
  };
}

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Events a failed run still takes: a person sending it back (the one way an ended run moves
 * again), and its pull request or issue being merged or closed, which ends it for good so a later
 * `/retry` cannot revive it onto a merged or closed branch.
 */
const AFTER_FAILURE = new Set<RunEventType>(["phase.retry", "phase.escalate", "run.cancelled", "run.merged"]);

/**
 * Events a run that ended on a passed approval (and is not merged) still takes: the approval binds
 * to one commit, so a new commit, a dismissal or a changes-requested review sends the run back to
 * its approval phase; merging or closing its pull request ends it for good.
 */
const AFTER_APPROVAL = new Set<RunEventType>(["approval.revoked", "run.cancelled", "run.merged"]);

/** The label a run puts on its issue when it hands a failed phase to a person. */
export const NEEDS_HUMAN_LABEL = "needs-human";

type Handler<T extends RunEventType> = (
  state: RunState,
  event: Extract<RunEvent, { type: T }>,
  pipeline: ResolvedPipeline,
) => RunState;

/** One handler per event type: adding an event is a compile error until it is handled here. */
const HANDLERS: { [T in RunEventType]: Handler<T> } = {
  "branch.prepared": (state, event, pipeline) =>
    enterPhase({ ...state, head: event.head, baseHead: event.head }, 0, pipeline),
  "agent.completed": (state, event) => {
    expectStep(state, "call", "agent.completed");
    const totals = addCost(state.totals, event.output.usage, event.output.costUsd);
    return { ...state, totals, step: "judge", current: { output: event.output } };
  },
  "agent.failed": (state, event, pipeline) => {
    expectStep(state, "call", "agent.failed");
    const totals = event.usage ? addCost(state.totals, event.usage, event.costUsd ?? 0) : state.totals;
    const current = { error: event.error, ...(event.budgetSpent ? { budgetSpent: true } : {}) };
    const next = { ...state, totals, current };
    if (event.fatal)
      return failPhase(next, `phase "${phaseAt(pipeline, state).id}" could not run: ${event.error}`);
    return retryOrFail(next, pipeline, event.error);
  },
  "gates.evaluated": (state, event, pipeline) => {
    expectStep(state, "judge", "gates.evaluated");
    const current = { ...state.current, verdict: event.verdict };
    const totals = addCost(state.totals, event.usage, event.costUsd);
    // A grader error is not a grade: the work is neither passed nor failed, so the agent is not
    // asked to redo it. The worker has already retried the judge once.
    const ungraded = event.verdict.results.find((r) => r.error);
    if (ungraded?.error)
      return failPhase(
        { ...state, totals, current },
        `phase "${phaseAt(pipeline, state).id}" ${ungraded.error}`,
      );
    if (event.verdict.pass) return { ...state, totals, current, step: "commit" };
    const failed = event.verdict.results.filter((r) => !r.pass);
    const reasons = failed.flatMap((r) => r.reasons).join("; ") || "a gate failed";
    const critique =
      failed.flatMap((r) => r.critique ?? r.reasons).join("\n") || "The work did not pass review.";
    return retryOrFail({ ...state, totals, current }, pipeline, reasons, critique);
  },
  "phase.rerouted": (state, event, pipeline) => {
    expectStep(state, "call", "phase.rerouted");
    expectPhase(state, pipeline, event.phaseId);
    // Only the attempt about to start may move, and only one tier up: a late or forged reroute is refused.
    if (event.attempt !== state.attempt || event.from !== state.tier || event.to !== tierAbove(event.from)) {
      throw new InvalidTransition(
        `a reroute of attempt ${event.attempt} from ${event.from} to ${event.to} does not fit attempt ${state.attempt} at ${state.tier}`,
      );
    }
    const { attempt, from, to, breaker, reason } = event;
    return withTierChange({ ...state, tier: to }, event.phaseId, {
      attempt,
      from,
      to,
      cause: "breaker",
      breaker,
      reason,
    });
  },
  "phase.committed": (state, event, pipeline) => {
    expectStep(state, "commit", "phase.committed");
    // A checks gate needs the commit to exist: the CI runs on it, then the phase comments.
    const step = checksGateOf(phaseAt(pipeline, state)) ? "ci" : "comment";
    return { ...state, head: event.sha, step, current: { ...state.current, commit: event.sha } };
  },
  "ci.pending": (state, event) => {
    expectCi(state, "running", event.sha, "ci.pending");
    // The first poll fixes the deadline; later polls (after a suite completed) keep it.
    const ciUntil = state.current?.ciUntil ?? event.until;
    const ciStarted = state.current?.ciStarted === true || event.started === true;
    return {
      ...state,
      status: "waiting",
      current: { ...state.current, ciUntil, ...(ciStarted ? { ciStarted } : {}) },
    };
  },
  "ci.changed": (state, event) => {
    expectCi(state, "waiting", event.sha, "ci.changed");
    return { ...state, status: "running" };
  },
  "ci.timeout": (state, event, pipeline) => {
    expectCi(state, "waiting", state.current?.commit ?? "", "ci.timeout");
    expectPhase(state, pipeline, event.phaseId);
    if (event.attempt !== state.attempt) {
      throw new InvalidTransition(
        `the CI timer is for attempt ${event.attempt}, the phase is at attempt ${state.attempt}`,
      );
    }
    return { ...state, status: "running" };
  },
  "ci.completed": (state, event, pipeline) => {
    expectCi(state, "running", event.sha, "ci.completed");
    const { ciUntil: _done, ...current } = state.current ?? {};
    const verdict = withChecksResult(current.verdict, event);
    const next = { ...state, current: { ...current, verdict } };
    const phase = phaseAt(pipeline, state);
    // No CI to read is not a verdict on the work (like a grader error): the agent is not asked to redo it.
    if (event.error !== undefined) return failPhase(next, `phase "${phase.id}" ${event.error}`);
    if (event.pass) return { ...next, step: "comment" };
    const sha = event.sha.slice(0, 7);
    const what = event.timedOut ? `CI did not finish on ${sha} in time` : `CI failed on ${sha}`;
    const critique = [
      event.timedOut
        ? "The repository's CI did not finish in time on the commit of your previous attempt:"
        : "The repository's CI failed on the commit of your previous attempt:",
      ...event.summary.map((line) => `- ${line}`),
    ].join("\n");
    return retryOrFail(next, pipeline, `${what}: ${event.summary.join("; ")}`, critique);
  },
  "phase.commented": (state, _event, pipeline) => {
    expectStep(state, "comment", "phase.commented");
    if (state.current?.failure) {
      if (state.current.handOff) return { ...state, step: "handoff", reason: state.current.failure };
      return fail(state, state.current.failure);
    }
    const phase = phaseAt(pipeline, state);
    const output = state.current?.output;
    const outputs = { ...state.outputs, [phase.id]: output ? outputText(output) : "" };
    return enterPhase({ ...state, outputs }, state.phaseIndex + 1, pipeline);
  },
  "wait.scheduled": (state, event) => {
    expectStep(state, "wait", "wait.scheduled");
    return { ...state, status: "waiting", waitUntil: event.until };
  },
  "wait.elapsed": (state, event, pipeline) => {
    if (state.step !== "wait") throw new InvalidTransition(`run is not in a cooldown (step ${state.step})`);
    expectPhase(state, pipeline, event.phaseId);
    // The run was sent back to an earlier phase since this timer was set: it times the old cooldown.
    if ((event.round ?? 0) !== (state.round ?? 0)) {
      throw new InvalidTransition(
        `the timer is from round ${event.round ?? 0}, the run is in round ${state.round ?? 0}`,
      );
    }
    const { waitUntil: _done, ...rest } = state;
    return enterPhase({ ...rest, status: "running" }, state.phaseIndex + 1, pipeline);
  },
  "approval.requested": (state, event, pipeline) => {
    expectStep(state, "approval", "approval.requested");
    const waiting: RunState = { ...state, status: "awaiting_approval" };
    // Approvals given before the phase began count as if given now, when they are of the head.
    const earlier = event.sha === undefined || event.sha === state.head ? (event.approvedBy ?? []) : [];
    if (earlier.length === 0) return waiting;
    return approve(waiting, phaseAt(pipeline, state), earlier, pipeline);
  },
  "approval.granted": (state, event, pipeline) => {
    if (state.status !== "awaiting_approval") {
      throw new InvalidTransition(`run is not waiting for approval (status ${state.status})`);
    }
    const phase = forPhase(state, pipeline, event.phaseId);
    // An approval is of one commit: whatever came after it was not reviewed.
    if (event.sha !== undefined && event.sha !== state.head) {
      throw new InvalidTransition(
        `${event.by} approved ${event.sha.slice(0, 7)}, but the branch is at ${state.head?.slice(0, 7) ?? "no commit yet"}`,
      );
    }
    if (state.approvals?.includes(event.by))
      throw new InvalidTransition(`${event.by} has already approved "${phase.id}"`);
    return approve(state, phase, [event.by], pipeline);
  },
  "approval.revoked": (state, event, pipeline) => {
    // Ended on its approval, or about to merge what was approved: a new commit or a withdrawn
    // approval sends the run back to its approval phase before anything is merged.
    if (state.status === "succeeded" || (state.status === "running" && state.step === "merge"))
      return reopenApproval(state, event, pipeline);
    // A push on top of the head the run knows moves that head whatever the run is doing, so an
    // approval binds to the branch as it is. GitHub cannot tell the app's own pushes apart: those
    // name the head the run already has, and a late event for an older push names another
    // previous head; neither is news, and the worker drops it with a note.
    const moved =
      event.reason === "new-commit" &&
      event.head !== undefined &&
      event.head !== state.head &&
      (event.previousHead === undefined || event.previousHead === state.head);
    if (state.status !== "awaiting_approval") {
      if (moved && !TERMINAL.has(state.status)) return { ...state, head: event.head };
      throw new InvalidTransition(`run is not waiting for approval (status ${state.status})`);
    }
    forPhase(state, pipeline, event.phaseId);
    if (event.reason === "new-commit" && !moved) {
      throw new InvalidTransition("the push is not new to the run: it knows that head, or a newer one");
    }
    checkDismissal(event, state.approvals ?? [], state.head);
    const { approvals: _cleared, ...rest } = state;
    return moved ? { ...rest, head: event.head } : rest;
  },
  "handoff.done": (state) => {
    expectStep(state, "handoff", "handoff.done");
    return { ...state, status: "needs_human" };
  },
  "merge.refused": (state, event) => {
    expectStep(state, "merge", "merge.refused");
    return { ...state, status: "succeeded", step: "done", reason: `approved; not merged: ${event.reason}` };
  },
  "run.merged": (state, event) => {
    // Merged: what was approved is in, and nothing sends the run back any more.
    const { approval: _merged, ...rest } = state;
    return { ...rest, status: "succeeded", step: "done", reason: `merged by ${event.by}` };
  },
  "run.cancelled": (state, event) => ({
    ...state,
    status: "cancelled",
    step: "done",
    reason: `cancelled by ${event.by}`,
  }),
  "run.aborted": (state, event) => fail(state, event.reason),
  "phase.retry": (state, event, pipeline) => rerun(state, event, pipeline),
  "phase.escalate": (state, event, pipeline) => rerun(state, event, pipeline),
};

/**
 * Counts `by` toward the approval phase, each login once. Enough approvals pass the phase, bound
 * to the head they approved (`state.approval`); fewer are kept until more arrive.
 */
function approve(state: RunState, phase: ResolvedPhase, by: string[], pipeline: ResolvedPipeline): RunState {
  const approvals = [...new Set([...(state.approvals ?? []), ...by])];
  const needed = phase.kind === "approval" ? phase.minApprovals : 1;
  if (approvals.length < needed) return { ...state, approvals };
  const { approvals: _done, ...rest } = state;
  const approval = { phaseId: phase.id, head: state.head ?? "", by: approvals };
  return enterPhase({ ...rest, approval, status: "running" }, state.phaseIndex + 1, pipeline);
}

/** `/retry` and `/escalate`: back to the phase, then (at an agent phase) a new attempt there. */
function rerun(
  state: RunState,
  event: Extract<RunEvent, { type: "phase.retry" | "phase.escalate" }>,
  pipeline: ResolvedPipeline,
): RunState {
  const { state: base, tier, change } = rerunPhase(state, event, pipeline);
  // No attempt to start: a failed run goes back to preparing its branch, or to a wait or approval phase.
  if (!tier) return base;
  const next = startAttempt(base, pipeline, tier, 1);
  if (!change || next.status !== "running") return next;
  return withTierChange(next, event.phaseId, { attempt: next.attempt, ...change });
}

/**
 * The run state machine: state + event -> new state + the effects to perform next. Pure: the
 * worker does the I/O and feeds the outcome back as the next event.
 */
export function transition(
  state: RunState,
  event: RunEvent,
  pipeline: ResolvedPipeline,
): { state: RunState; effects: Effect[] } {
  if (TERMINAL.has(state.status) && !takesAfterEnd(state, event.type)) {
    throw new InvalidTransition(`run ${statusSentence(state.status)}`);
  }
  const handler = HANDLERS[event.type] as Handler<typeof event.type>;
  const next = { ...handler(state, event as never, pipeline), seq: state.seq + 1 };
  const effect = nextEffect(next, pipeline);
  return { state: next, effects: effect ? [effect] : [] };
}

function takesAfterEnd(state: RunState, type: RunEventType): boolean {
  if (state.status === "failed") return AFTER_FAILURE.has(type);
  return state.status === "succeeded" && state.approval !== undefined && AFTER_APPROVAL.has(type);
}

/**
 * A dismissal takes an approval back only if it dismissed one of the approvals (not a stale
 * changes-requested) of the commit they approved (not an approval of an older commit that GitHub
 * dismissed on a push and whose webhook came late).
 */
function checkDismissal(
  event: Extract<RunEvent, { type: "approval.revoked" }>,
  approvers: string[],
  head: string | undefined,
): void {
  if (event.reason !== "dismissed") return;
  if (event.reviewer !== undefined && !approvers.includes(event.reviewer)) {
    throw new InvalidTransition(`the dismissed review by ${event.reviewer} was not one of the approvals`);
  }
  if (event.commit !== undefined && event.commit !== head) {
    throw new InvalidTransition(
      `the dismissed review was of ${event.commit.slice(0, 7)}, not the approved head`,
    );
  }
}

/**
 * A run that ended on a passed approval goes back to that approval phase: the approval was of
 * `approval.head`, and the branch moved past it or a reviewer withdrew it. The phases after the
 * approval phase (if any) run again once it passes again.
 */
function reopenApproval(
  state: RunState,
  event: Extract<RunEvent, { type: "approval.revoked" }>,
  pipeline: ResolvedPipeline,
): RunState {
  const { approval, reason: _ended, ...rest } = state;
  if (!approval) throw new InvalidTransition(`run ${statusSentence("succeeded")}`);
  const index = pipeline.phases.findIndex((p) => p.id === approval.phaseId);
  if (index < 0) throw new InvalidTransition(`no approval phase "${approval.phaseId}"`);
  checkDismissal(event, approval.by, approval.head);
  let head = state.head;
  if (event.reason === "new-commit") {
    // As while waiting: only a push on top of the head the run knows is news.
    const moved =
      event.head !== undefined &&
      event.head !== state.head &&
      (event.previousHead === undefined || event.previousHead === state.head);
    if (!moved)
      throw new InvalidTransition("the push is not new to the run: it knows that head, or a newer one");
    head = event.head;
  }
  const history = remember(state, pipeline);
  return {
    ...rest,
    ...(history ? { history } : {}),
    ...(head === undefined ? {} : { head }),
    phaseIndex: index,
    status: "awaiting_approval",
    step: "approval",
    // A new round: wait phases after the approval set their timers afresh, end keys are new.
    round: (state.round ?? 0) + 1,
  };
}

/** What the worker should do for a run in this state, if anything. */
export function nextEffect(state: RunState, pipeline: ResolvedPipeline): Effect | undefined {
  if (state.status !== "running") return undefined;
  // A run sent back (`/retry`, a new round) enters its steps afresh: its keys carry the round.
  const round = state.round ? `/r${state.round}` : "";
  // Prepared again only by a retry of a run that failed before its branch existed.
  if (state.step === "prepare") return { kind: "prepare_branch", key: `prepare${round}` };
  if (state.step === "merge") {
    const method = pipeline.mergeAfterApproval;
    // Keyed by the state: after a refusal, a new commit and a new approval, merging is tried anew.
    // Exactly the approved commit: never whatever the branch holds by the time the merge runs.
    const sha = state.approval?.head;
    return method && sha ? { kind: "merge_pull", key: `merge@${state.seq}`, sha, method } : undefined;
  }
  const phase = pipeline.phases[state.phaseIndex];
  if (!phase) return undefined;
  const base = `${phase.id}/${state.attempt}`;
  const at = { phaseId: phase.id, attempt: state.attempt };
  switch (state.step) {
    case "call":
      return { kind: "call_agent", key: `${base}/agent`, ...at, tier: state.tier ?? "balanced" };
    case "judge":
      return { kind: "evaluate_gates", key: `${base}/gates`, ...at };
    case "commit":
      return { kind: "commit", key: `${base}/commit`, ...at };
    case "ci": {
      const sha = state.current?.commit;
      // A poll only reads, and a run polls again after a suite completes: each poll has its own key.
      return sha ? { kind: "check_ci", key: `${base}/ci/${state.seq}`, ...at, sha } : undefined;
    }
    case "comment":
      return { kind: "comment", key: `${base}/comment`, ...at };
    case "wait":
      return phase.kind === "wait"
        ? { kind: "schedule_wait", key: `${phase.id}/wait${round}`, phaseId: phase.id, waitMs: phase.waitMs }
        : undefined;
    case "approval":
      return { kind: "request_approval", key: `${phase.id}/approval${round}`, phaseId: phase.id };
    case "handoff":
      return { kind: "hand_off", key: `${base}/handoff`, phaseId: phase.id, label: NEEDS_HUMAN_LABEL };
    default:
      return undefined;
  }
}

/** Starts phase `index`, or ends the run when there is none. */
function enterPhase(state: RunState, index: number, pipeline: ResolvedPipeline): RunState {
  const { current: _current, feedback: _feedback, ...rest } = state;
  const history = remember(state, pipeline);
  const kept = history ? { ...rest, history } : rest;
  const phase = pipeline.phases[index];
  if (!phase) {
    // The repository opted into merging, and what was approved is what would be merged.
    const merge = pipeline.mergeAfterApproval && kept.approval && kept.approval.head === kept.head;
    return merge
      ? { ...kept, phaseIndex: index, status: "running", step: "merge" }
      : { ...kept, phaseIndex: index, status: "succeeded", step: "done" };
  }
  // A phase entered again after a retry numbers its attempts on from its last one.
  const base = { ...kept, phaseIndex: index, attempt: history?.[phase.id]?.attempt ?? 0, triesAtTier: 0 };
  if (phase.kind === "wait") return { ...base, step: "wait" };
  if (phase.kind === "approval") {
    // An earlier approval phase's approval is not this one's: only this phase's passing sets it again.
    const { approval: _earlier, ...fresh } = base;
    return { ...fresh, step: "approval" };
  }
  return startAttempt({ ...base, tier: phase.tier }, pipeline, phase.tier, 1);
}

function startAttempt(
  state: RunState,
  pipeline: ResolvedPipeline,
  tier: RunState["tier"],
  triesAtTier: number,
): RunState {
  const spent = overBudget(state.totals, pipeline.budget);
  if (spent) return fail(state, spent);
  return { ...state, step: "call", tier, triesAtTier, attempt: state.attempt + 1 };
}

/**
 * After a failed attempt: retry at the same tier, escalate one tier, or end the run. `critique`
 * is what the agent hears on the retry; `reason` (with criterion names) is for people.
 */
function retryOrFail(
  state: RunState,
  pipeline: ResolvedPipeline,
  reason: string,
  critique = reason,
): RunState {
  const phase = phaseAt(pipeline, state);
  if (phase.kind !== "agent") throw new InvalidTransition(`phase "${phase.id}" is not an agent phase`);
  // `feedback: none`: the retry is asked afresh, with no word of what was wrong.
  const { feedback: _previous, ...rest } = state;
  const withFeedback = phase.onFail.feedback === "none" ? rest : { ...state, feedback: critique };
  if (state.triesAtTier <= phase.onFail.retries) {
    return startAttempt(withFeedback, pipeline, state.tier, state.triesAtTier + 1);
  }
  const from = state.tier;
  const above = from ? tierAbove(from) : undefined;
  if (phase.onFail.escalate && from && above) {
    const next = startAttempt(withFeedback, pipeline, above, 1);
    if (next.status !== "running") return next;
    const spent = `${state.triesAtTier} attempt(s) at ${from} failed`;
    return withTierChange(next, phase.id, {
      attempt: next.attempt,
      from,
      to: above,
      cause: "escalation",
      reason: `${spent}: ${reason}`,
    });
  }
  return failPhase(
    state,
    `phase "${phase.id}" failed after ${state.attempt} attempt(s): ${reason}`,
    phase.onFail.exhausted === "human",
  );
}

function withTierChange(state: RunState, phaseId: string, change: TierChange): RunState {
  const changes = state.tierChanges ?? {};
  return { ...state, tierChanges: { ...changes, [phaseId]: [...(changes[phaseId] ?? []), change] } };
}

/**
 * A phase that cannot go on still posts its comment (what failed and its scores); then the run
 * fails, or, with `handOff`, the issue is labelled for a person and the run waits for one.
 */
function failPhase(state: RunState, reason: string, handOff = false): RunState {
  const current = { ...state.current, failure: reason, ...(handOff ? { handOff: true } : {}) };
  return { ...state, step: "comment", current };
}

function fail(state: RunState, reason: string): RunState {
  return { ...state, status: "failed", step: "done", reason };
}

function addCost(
  totals: Totals,
  usage: { inputTokens: number; outputTokens: number },
  costUsd: number,
): Totals {
  return {
    tokens: totals.tokens + usage.inputTokens + usage.outputTokens,
    costUsd: totals.costUsd + costUsd,
  };
}

function expectStep(state: RunState, step: RunState["step"], event: string): void {
  if (state.status !== "running" || state.step !== step) {
    throw new InvalidTransition(`${event} does not apply to a run at step ${state.step} (${state.status})`);
  }
}

/** The run is at its checks gate, `status` (polling or waiting), for the commit `sha`. */
function expectCi(state: RunState, status: "running" | "waiting", sha: string, event: string): void {
  if (state.step !== "ci" || state.status !== status) {
    const doing = status === "waiting" ? "waiting for CI" : "reading CI";
    throw new InvalidTransition(
      `${event} applies to a run ${doing}; this one is at step ${state.step} (${state.status})`,
    );
  }
  if (state.current?.commit !== sha) {
    throw new InvalidTransition(
      `${event} is for ${sha.slice(0, 7) || "no commit"}, the phase's commit is ${state.current?.commit?.slice(0, 7) ?? "unknown"}`,
    );
  }
}

/** An outside event names the phase it was meant for; a late one for an earlier phase is refused. */
function expectPhase(state: RunState, pipeline: ResolvedPipeline, phaseId: string): ResolvedPhase {
  const phase = phaseAt(pipeline, state);
  if (phase.id !== phaseId) {
    throw new InvalidTransition(`the event is for phase "${phaseId}" but the run is at "${phase.id}"`);
  }
  return phase;
}

/** An approval event from a review names no phase: it is for whichever approval the run awaits. */
function forPhase(state: RunState, pipeline: ResolvedPipeline, phaseId: string | undefined): ResolvedPhase {
  return phaseId === undefined ? phaseAt(pipeline, state) : expectPhase(state, pipeline, phaseId);
}

export function phaseAt(pipeline: ResolvedPipeline, state: RunState): ResolvedPhase {
  const phase = pipeline.phases[state.phaseIndex];
  if (!phase) throw new InvalidTransition(`no phase at index ${state.phaseIndex}`);
  return phase;
}
