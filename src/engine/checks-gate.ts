import { parseDuration } from "../pipeline/duration.js";
import type { ResolvedPhase } from "../pipeline/resolved.js";
import type { GateResult, GatesVerdict, RunEvent } from "./types.js";

/** A phase's checks gate, read for the engine and the worker: at most one per phase (validated). */
export interface ChecksGateSpec {
  /** As written (`30m`), for messages. */
  timeout: string;
  timeoutMs: number;
  /** Check-run names that must be present and pass; absent: every check run of another app. */
  names?: string[];
}

/** The checks gate of an agent phase, if it has one. */
export function checksGateOf(phase: ResolvedPhase | undefined): ChecksGateSpec | undefined {
  if (phase?.kind !== "agent") return undefined;
  for (const gate of phase.gates) {
    if (!("checks" in gate)) continue;
    const { timeout, names } = gate.checks;
    return { timeout, timeoutMs: parseDuration(timeout), ...(names ? { names } : {}) };
  }
  return undefined;
}

/** The phase's verdict once the checks gate has decided: the gates before the commit, then its result. */
export function withChecksResult(
  before: GatesVerdict | undefined,
  event: Extract<RunEvent, { type: "ci.completed" }>,
): GatesVerdict {
  const pass = event.pass && event.error === undefined;
  const result: GateResult = {
    gate: "checks",
    pass,
    score: pass ? 1 : 0,
    reasons: event.summary.length > 0 ? event.summary : [pass ? "CI passed" : "CI failed"],
    ...(event.error === undefined ? {} : { error: event.error }),
  };
  const earlier = before ?? { pass: true, results: [] };
  return { pass: earlier.pass && pass, results: [...earlier.results, result] };
}
