import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Tier } from "../pipeline/schema.js";
import { overBudget } from "./budget.js";
import { InvalidTransition } from "./invalid-transition.js";
import { outputText } from "./output-text.js";
import { statusSentence } from "./status-words.js";
import { tierAbove } from "./tiers.js";
import type { RunEvent, RunState, TierChange } from "./types.js";

/** Characters of a phase's previous output handed to an escalated attempt as context. */
export const PREVIOUS_OUTPUT_LIMIT = 20_000;

type RerunEvent = Extract<RunEvent, { type: "phase.retry" | "phase.escalate" }>;

/** Where a run sent back to a phase starts again; the caller starts the attempt (with its budget check). */
export interface Rerun {
  /**
   * The run at the phase. For an agent phase, before its attempt starts: `attempt` is the phase's
   * last one. For a failed run re-entered where no model is called (its branch, a wait or an
   * approval phase), the state to go on from as it is.
   */
  state: RunState;
  /** The tier the agent phase's new attempt runs at; absent when no attempt is to start. */
  tier?: Tier;
  /** For an escalation, the tier change to record once the attempt has its number. */
  change?: Omit<TierChange, "attempt">;
}

/**
 * A person sends the run back to a phase it has reached (`/retry`, `/escalate`, `atomic-scrum
 * retry`). Outputs from that phase on are forgotten, every later phase runs again, and the round
 * goes up so wait and approval phases are entered afresh. A failed run (its gates failed, or the
 * worker gave up on it) or one waiting for a person runs again; a run that succeeded or was
 * cancelled does not, nor one whose budget is spent. Commits already on the branch stay.
 *
 * Issue 11: a failed run is retried where it stopped, not only at an agent phase. One that failed
 * before its branch existed prepares it again; one that failed in a wait or approval phase (or in
 * the merge after it) enters that phase again, in a new round.
 */
export function rerunPhase(state: RunState, event: RerunEvent, pipeline: ResolvedPipeline): Rerun {
  const ended = endedForGood(state);
  if (ended) throw new InvalidTransition(ended);
  const index = pipeline.phases.findIndex((phase) => phase.id === event.phaseId);
  const phase = pipeline.phases[index];
  if (!phase) throw new InvalidTransition(`the pipeline has no phase "${event.phaseId}"`);
  const spent = budgetRefusal(state, pipeline, index);
  if (spent) throw new InvalidTransition(spent);
  const escalate = event.type === "phase.escalate";
  const failed = state.status === "failed";
  if (failed && state.head === undefined) return restart(state, event, pipeline);
  if (phase.kind !== "agent" && (escalate || !failed)) {
    const only = escalate ? "only agent phases run on another tier" : "only agent phases run again";
    throw new InvalidTransition(`phase "${phase.id}" is a ${phase.kind} phase: ${only}`);
  }
  if (index > state.phaseIndex || state.step === "prepare" || state.head === undefined) {
    throw new InvalidTransition(`phase "${phase.id}" has not run yet`);
  }
  const history = remember(state, pipeline) ?? {};
  const outputs = Object.fromEntries(
    Object.entries(state.outputs).filter(([id]) => !pipeline.phases.slice(index).some((p) => p.id === id)),
  );
  const back: RunState = {
    ...withoutPhaseState(state),
    status: "running",
    phaseIndex: index,
    triesAtTier: 0,
    outputs,
    history,
    round: (state.round ?? 0) + 1,
  };
  // A wait or approval phase of a failed run: entered again as `enterPhase` would, keyed by the new round.
  if (phase.kind === "wait") return { state: { ...back, attempt: 0, step: "wait" } };
  if (phase.kind === "approval") {
    // Its approval is asked for again: approvals of the head given before count again (GitHub reviews).
    const { approval: _approval, ...rest } = back;
    return { state: { ...rest, attempt: 0, step: "approval" } };
  }
  const last = history[phase.id];
  const from = last?.tier ?? phase.tier;
  const tier = escalate ? tierAbove(from) : phase.tier;
  if (!tier) {
    throw new InvalidTransition(
      `phase "${phase.id}" last ran at ${from}, the top tier: there is none above it`,
    );
  }
  const previous = escalate ? previousOutput(state, phase.id, index) : undefined;
  const { approval: _approval, ...rest } = back;
  const next: RunState = {
    ...rest,
    attempt: last?.attempt ?? 0,
    ...(previous
      ? {
          feedback: `${event.by} asked for this phase to be done again on a stronger model. Your previous output follows; improve on it.\n\n${previous}`,
        }
      : {}),
  };
  if (!escalate) return { state: next, tier };
  return {
    state: next,
    tier,
    change: { from, to: tier, cause: "escalation", reason: `escalated by ${event.by}` },
  };
}

/**
 * Why a retry without a phase id would be refused, if it would: the run has ended for good
 * (succeeded, cancelled), or its budget is spent and the retry would need a model call. The status
 * comment says so instead of offering a retry.
 */
export function retryRefusal(state: RunState, pipeline: ResolvedPipeline): string | undefined {
  const ended = endedForGood(state);
  if (ended) return ended;
  const target = rerunTarget(state, pipeline, "phase.retry");
  const index = pipeline.phases.findIndex((phase) => phase.id === target);
  return index < 0 ? undefined : budgetRefusal(state, pipeline, index);
}

/** Why the run can never be sent back, if it cannot: it succeeded (merged) or was cancelled. */
export function endedForGood(state: RunState): string | undefined {
  if (state.status !== "succeeded" && state.status !== "cancelled") return undefined;
  return `the run ${statusSentence(state.status)}, so no phase of it runs again`;
}

/**
 * A run whose own budget is spent cannot go back to phase `index` when an agent phase is to run
 * from there: its first attempt would end the run at once (the pipeline, budget included, is
 * pinned to the run). A wait, an approval or a merge with no agent phase after them costs nothing
 * and may still be retried.
 */
function budgetRefusal(state: RunState, pipeline: ResolvedPipeline, index: number): string | undefined {
  if (!pipeline.phases.slice(index).some((phase) => phase.kind === "agent")) return undefined;
  const fix = "raise the pipeline's budget and start a new run";
  const spent = overBudget(state.totals, pipeline.budget);
  if (spent)
    return `the run's budget is spent (${spent}), so a retry would stop before its first model call; ${fix}`;
  // Most runs end here: each call is checked against what is left before it is made.
  const refused = state.status === "failed" && state.current?.budgetSpent ? state.current.error : undefined;
  if (refused)
    return `the run's budget refused its last call (${refused}), and would refuse a retry's the same way; ${fix}`;
  return undefined;
}

/**
 * The phase a retry without a phase id sends the run back to. A failed run: the phase it stopped
 * in, whatever its kind (past the last phase, in the merge: the approval phase it passed; before
 * its branch existed: the first phase). Otherwise, and for an escalation (only agent phases have a
 * tier): the current phase when it runs an agent, else the last agent phase before it.
 */
export function rerunTarget(
  state: RunState,
  pipeline: ResolvedPipeline,
  type: RerunEvent["type"],
): string | undefined {
  if (state.status === "failed" && type === "phase.retry") {
    const stopped = pipeline.phases[state.phaseIndex]?.id ?? state.approval?.phaseId;
    if (stopped) return stopped;
  }
  const phases = pipeline.phases.slice(0, state.phaseIndex + 1);
  return phases.reverse().find((phase) => phase.kind === "agent")?.id;
}

/**
 * A run that failed before its branch was prepared (git or GitHub refused, or stayed unreachable
 * through every attempt of the job) starts from the beginning: the branch again, then the first
 * phase. Only the first phase can be named: none has run.
 */
function restart(state: RunState, event: RerunEvent, pipeline: ResolvedPipeline): Rerun {
  const first = pipeline.phases[0];
  const before = "the run failed before its branch was prepared, so no phase has run yet";
  if (event.type === "phase.escalate")
    throw new InvalidTransition(`${before} and none can be escalated; retry it instead`);
  if (first?.id !== event.phaseId)
    throw new InvalidTransition(`${before}; a retry starts it from its first phase, "${first?.id}"`);
  const { head: _head, baseHead: _baseHead, approval: _approval, ...rest } = withoutPhaseState(state);
  return {
    state: {
      ...rest,
      status: "running",
      step: "prepare",
      phaseIndex: 0,
      attempt: 0,
      triesAtTier: 0,
      round: (state.round ?? 0) + 1,
    },
  };
}

/** The run without what belonged to the phase it was in: the attempt in hand, its wait, its approvals, why it ended. */
function withoutPhaseState(state: RunState): RunState {
  const {
    current: _current,
    feedback: _feedback,
    waitUntil: _waitUntil,
    approvals: _approvals,
    reason: _reason,
    ...rest
  } = state;
  return rest;
}

/**
 * The history with the current phase's attempt added: called when the run leaves an agent phase
 * or is sent back from one, so the phase's attempt numbers and last tier outlive its state.
 */
export function remember(state: RunState, pipeline: ResolvedPipeline): RunState["history"] {
  const history = state.history;
  const phase = pipeline.phases[state.phaseIndex];
  const tier = state.current?.output?.tier ?? state.tier;
  if (phase?.kind !== "agent" || state.attempt === 0 || !tier) return history;
  return { ...history, [phase.id]: { attempt: state.attempt, tier } };
}

/** What the phase last produced: the attempt in hand at the current phase, else its kept output. */
function previousOutput(state: RunState, phaseId: string, index: number): string | undefined {
  const text =
    index === state.phaseIndex && state.current?.output
      ? outputText(state.current.output)
      : state.outputs[phaseId];
  if (!text) return undefined;
  if (text.length <= PREVIOUS_OUTPUT_LIMIT) return text;
  return `${text.slice(0, PREVIOUS_OUTPUT_LIMIT)}\n… (${text.length - PREVIOUS_OUTPUT_LIMIT} more characters not shown)`;
}
