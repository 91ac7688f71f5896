import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Tier } from "../pipeline/schema.js";
import { InvalidTransition } from "./invalid-transition.js";
import { outputText } from "./output-text.js";
import { tierAbove } from "./tiers.js";
import type { RunEvent, RunState, TierChange } from "./types.js";

/** Characters of a phase's previous output handed to an escalated attempt as context. */
export const PREVIOUS_OUTPUT_LIMIT = 20_000;

type RerunEvent = Extract<RunEvent, { type: "phase.retry" | "phase.escalate" }>;

/** Where a run sent back to a phase starts again; the caller starts the attempt (with its budget check). */
export interface Rerun {
  /** The run at the phase, before its attempt starts: `attempt` is the phase's last one. */
  state: RunState;
  tier: Tier;
  /** For an escalation, the tier change to record once the attempt has its number. */
  change?: Omit<TierChange, "attempt">;
}

/**
 * A person sends the run back to an agent phase it has reached (`/retry`, `/escalate`). Outputs
 * from that phase on are forgotten, every later phase runs again, and the round goes up so wait
 * and approval phases are entered afresh. A failed run, or one waiting for a person, runs again;
 * a run that succeeded or was cancelled does not. Commits already on the branch stay.
 */
export function rerunPhase(state: RunState, event: RerunEvent, pipeline: ResolvedPipeline): Rerun {
  if (state.status === "succeeded" || state.status === "cancelled") {
    throw new InvalidTransition(`the run has already ${state.status}, so no phase of it runs again`);
  }
  const index = pipeline.phases.findIndex((phase) => phase.id === event.phaseId);
  const phase = pipeline.phases[index];
  if (!phase) throw new InvalidTransition(`the pipeline has no phase "${event.phaseId}"`);
  if (phase.kind !== "agent") {
    throw new InvalidTransition(`phase "${phase.id}" is a ${phase.kind} phase: only agent phases run again`);
  }
  if (index > state.phaseIndex || state.step === "prepare" || state.head === undefined) {
    throw new InvalidTransition(`phase "${phase.id}" has not run yet`);
  }
  const history = remember(state, pipeline) ?? {};
  const last = history[phase.id];
  const escalate = event.type === "phase.escalate";
  const from = last?.tier ?? phase.tier;
  const tier = escalate ? tierAbove(from) : phase.tier;
  if (!tier) {
    throw new InvalidTransition(
      `phase "${phase.id}" last ran at ${from}, the top tier: there is none above it`,
    );
  }
  const previous = escalate ? previousOutput(state, phase.id, index) : undefined;
  const {
    current: _current,
    feedback: _feedback,
    waitUntil: _waitUntil,
    approvals: _approvals,
    approval: _approval,
    reason: _reason,
    ...rest
  } = state;
  const outputs = Object.fromEntries(
    Object.entries(state.outputs).filter(([id]) => !pipeline.phases.slice(index).some((p) => p.id === id)),
  );
  const next: RunState = {
    ...rest,
    status: "running",
    phaseIndex: index,
    attempt: last?.attempt ?? 0,
    triesAtTier: 0,
    outputs,
    history,
    round: (state.round ?? 0) + 1,
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
