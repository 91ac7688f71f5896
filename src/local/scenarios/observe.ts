import type { GateResult, RunStatus } from "../../engine/types.js";
import type { Tier } from "../../pipeline/schema.js";
import type { Progress } from "../../worker/worker.js";
import { numbered } from "./phases.js";
import type { Outcome } from "./schema.js";

/** What one attempt did, as the worker reported it. */
export interface ObservedAttempt {
  attempt: number;
  tier?: Tier;
  outcome: Outcome | "running";
  gates: { label: string; pass: boolean }[];
  /** Why it did not pass: the first failing gate's reason, or the call's error. */
  why?: string;
}

/** What a scenario's run did. */
export interface Observation {
  status: RunStatus;
  reason?: string;
  /** Attempts per agent phase, in the order the phases ran. */
  phases: Map<string, ObservedAttempt[]>;
  escalated: Set<string>;
  /** Recorded answers no call asked for, in phases that ran. */
  unused: string[];
  ms: number;
}

/** Collects each attempt from the worker's progress reports. */
export function createObserver() {
  const phases = new Map<string, ObservedAttempt[]>();
  const onProgress = ({ event, run }: Progress) => {
    const phaseId = run.pipeline.phases[run.state.phaseIndex]?.id;
    if (!phaseId) return;
    const attempts = phases.get(phaseId) ?? [];
    phases.set(phaseId, attempts);
    const { attempt, tier } = run.state;
    if (event.type === "agent.completed") {
      attempts.push({ attempt, tier: event.output.tier, outcome: "running", gates: [] });
    } else if (event.type === "agent.failed") {
      attempts.push({ attempt, ...(tier ? { tier } : {}), outcome: "error", gates: [], why: event.error });
    } else if (event.type === "gates.evaluated") {
      const current = attempts.at(-1);
      if (current) Object.assign(current, verdictOf(event.verdict.results));
    }
    if (attempts.length === 0) phases.delete(phaseId);
  };
  return { phases, onProgress };
}

function verdictOf(results: GateResult[]): Pick<ObservedAttempt, "outcome" | "gates" | "why"> {
  const labels = numbered(results.map((result) => result.gate));
  const gates = results.map((result, i) => ({ label: labels[i] ?? result.gate, pass: result.pass }));
  const failed = results.findIndex((result) => !result.pass);
  const outcome: Outcome = results.some((r) => r.error) ? "error" : failed < 0 ? "pass" : "fail";
  const first = results[failed];
  const why = first ? `${labels[failed]}: ${first.reasons.join("; ")}` : undefined;
  return { outcome, gates, ...(why ? { why } : {}) };
}
