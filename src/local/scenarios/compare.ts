import type { Observation, ObservedAttempt } from "./observe.js";
import type { AttemptExpectation, GateOutcome, PhaseExpectation, Scenario } from "./schema.js";

/**
 * Compares what the run did with what the scenario expects; one line per expectation that did not
 * hold (empty when the scenario passes). Only what the scenario states is checked, plus recorded
 * answers that were never replayed.
 */
export function compareScenario(scenario: Scenario, observed: Observation): string[] {
  const lines: string[] = [];
  const { expect } = scenario;
  if (observed.status !== expect.status) {
    const why = observed.reason ? ` (${observed.reason})` : "";
    lines.push(`status: expected ${expect.status}, got ${observed.status}${why}`);
  }
  if (expect.reason !== undefined && !(observed.reason ?? "").includes(expect.reason)) {
    const got = observed.reason ? `"${observed.reason}"` : "no reason";
    lines.push(`reason: expected it to contain "${expect.reason}", got ${got}`);
  }
  for (const [id, want] of Object.entries(expect.phases)) {
    lines.push(...comparePhase(id, want, observed.phases.get(id) ?? [], observed.escalated.has(id)));
  }
  lines.push(...observed.unused);
  return lines;
}

function comparePhase(
  id: string,
  want: PhaseExpectation,
  attempts: ObservedAttempt[],
  escalated: boolean,
): string[] {
  const lines: string[] = [];
  if (want.attempts !== undefined && want.attempts !== attempts.length) {
    lines.push(`${id}: attempts: expected ${want.attempts}, got ${attempts.length}`);
  }
  if (want.tiers) {
    const got = attempts.map((attempt) => attempt.tier ?? "?");
    if (got.join() !== want.tiers.join()) {
      lines.push(`${id}: tiers: expected [${want.tiers.join(", ")}], got [${got.join(", ")}]`);
    }
  }
  if (want.escalated !== undefined && want.escalated !== escalated) {
    lines.push(`${id}: escalated: expected ${want.escalated}, got ${escalated}`);
  }
  for (const [index, expected] of (want.gates ?? []).entries()) {
    const name = `${id} attempt ${index + 1}`;
    const got = attempts[index];
    if (!got) {
      lines.push(`${name}: expected ${show(expected)}, but the phase made ${attempts.length} attempt(s)`);
    } else if (typeof expected === "string") {
      if (got.outcome !== expected)
        lines.push(`${name}: expected ${expected}, got ${got.outcome}${got.why ? ` (${got.why})` : ""}`);
    } else {
      for (const [gate, outcome] of Object.entries(expected)) {
        const result = got.gates.find((g) => g.label === gate);
        const actual: GateOutcome = result ? (result.pass ? "pass" : "fail") : "skipped";
        if (actual !== outcome) lines.push(`${name}: gate "${gate}": expected ${outcome}, got ${actual}`);
      }
    }
  }
  return lines;
}

function show(expected: AttemptExpectation): string {
  if (typeof expected === "string") return expected;
  return Object.entries(expected)
    .map(([gate, outcome]) => `${gate} ${outcome}`)
    .join(", ");
}

/** One line per phase that ran: each attempt's tier and outcome, for a failure report. */
export function describeRun(observed: Observation): string[] {
  const lines = [...observed.phases].map(
    ([id, attempts]) => `${id}: ${attempts.map((a) => `${a.tier ?? "?"} ${a.outcome}`).join(", ")}`,
  );
  const reason = observed.reason ? `: ${observed.reason}` : "";
  return [...lines, `ended ${observed.status}${reason}`];
}
