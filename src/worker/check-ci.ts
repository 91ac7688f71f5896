import { checksGateOf } from "../engine/checks-gate.js";
import { phaseAt } from "../engine/transition.js";
import type { Effect, RunEvent } from "../engine/types.js";
import type { CiStatus, Forge } from "../forge/forge.js";
import type { RunRecord } from "../store/runs.js";
import { oneLine } from "../util/text.js";

/** CI text comes from other apps and reaches the agent's prompt: short lines, few of them. */
export const CI_LINE_LIMIT = 200;
export const CI_LINES_LIMIT = 10;

/** Why a checks gate passes where there is no CI to read (a local run, a scenario test). */
export const NO_CI_OUTSIDE_GITHUB = "skipped: no CI outside GitHub";

/**
 * One poll of the repository's CI on the phase's commit. Finished: the gate's verdict. Not
 * finished: the run waits (for a suite to complete, or for the deadline the first poll fixed).
 * At the deadline: checks still running fail the gate; no CI at all is a gate that could not decide.
 */
export async function checkCi(
  deps: { forgeFor: (run: RunRecord) => Forge; now: () => number },
  run: RunRecord,
  effect: Extract<Effect, { kind: "check_ci" }>,
): Promise<RunEvent> {
  const phase = phaseAt(run.pipeline, run.state);
  const gate = checksGateOf(phase);
  if (!gate) throw new Error(`phase "${phase.id}" has no checks gate`);
  const { sha } = effect;
  const status = await deps.forgeFor(run).ciStatus({ sha, ...(gate.names ? { names: gate.names } : {}) });
  const sha7 = sha.slice(0, 7);
  if (status.state === "unsupported")
    return { type: "ci.completed", sha, pass: true, summary: [NO_CI_OUTSIDE_GITHUB] };
  if (status.state === "passed") {
    return {
      type: "ci.completed",
      sha,
      pass: true,
      summary: [`${status.counted} check(s) passed on ${sha7}`],
    };
  }
  if (status.state === "failed")
    return { type: "ci.completed", sha, pass: false, summary: ciSummary(status) };
  const now = deps.now();
  const until = run.state.current?.ciUntil ?? now + gate.timeoutMs;
  if (now < until) return { type: "ci.pending", sha, until, started: status.counted > 0 };
  if (status.counted === 0) {
    const named = gate.names ? ` (waited for ${gate.names.join(", ")})` : "";
    const error = `could not be checked: no CI reported on ${sha7} within ${gate.timeout}${named}; check that a workflow runs on pushes to the run's branch`;
    return { type: "ci.completed", sha, pass: false, summary: [`no CI reported on ${sha7}`], error };
  }
  return { type: "ci.completed", sha, pass: false, timedOut: true, summary: ciSummary(status, gate.timeout) };
}

/** A line per failing check, then per unfinished one (`still running after 30m`), capped. */
export function ciSummary(status: Exclude<CiStatus, { state: "unsupported" }>, timeout?: string): string[] {
  const lines = [
    ...status.failing.map((check) =>
      check.title
        ? `${check.name}: ${check.conclusion}: ${check.title}`
        : `${check.name}: ${check.conclusion}`,
    ),
    ...(timeout ? status.pending.map((name) => `${name}: still running after ${timeout}`) : []),
  ].map((line) => oneLine(line, CI_LINE_LIMIT));
  if (lines.length <= CI_LINES_LIMIT) return lines;
  const shown = lines.slice(0, CI_LINES_LIMIT - 1);
  return [...shown, `and ${lines.length - shown.length} more`];
}
