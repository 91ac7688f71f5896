import type { GateResult, GatesVerdict } from "../engine/types.js";
import type { Gate } from "../pipeline/schema.js";
import { type AssertSubject, runAssert } from "./asserts.js";
import { type JudgeCall, runJudgeGate } from "./judge-gate.js";

export interface GateContext {
  subject: AssertSubject & { phaseId: string; attempt: number };
  renderRubric: (rubric: string) => string;
  judge: JudgeCall;
}

/**
 * Runs a phase's gates in order. Asserts are free, so they run first and a failing one skips the
 * judges: there is no point paying to grade work that is already refused.
 */
export async function evaluateGates(gates: readonly Gate[], context: GateContext): Promise<GatesVerdict> {
  const results: GateResult[] = [];
  const asserts = gates.filter((gate) => "assert" in gate);
  for (const gate of asserts) {
    const { type, value } = gate.assert;
    const outcome = runAssert(type, value, context.subject);
    results.push({
      gate: `assert ${type}`,
      pass: outcome.pass,
      score: outcome.pass ? 1 : 0,
      reasons: [outcome.reason],
    });
  }
  if (results.some((r) => !r.pass)) return { pass: false, results };
  for (const [index, gate] of gates.entries()) {
    if (!("judge" in gate)) continue;
    results.push(await runJudgeGate(gate.judge, context.subject, context.renderRubric, context.judge, index));
  }
  return { pass: results.every((r) => r.pass), results };
}
