import type { GateResult, GatesVerdict } from "../engine/types.js";
import type { AssertGate, ChecksGate, Gate, JudgeGate } from "../pipeline/schema.js";
import { type AssertSubject, runAssert } from "./asserts.js";
import { type JudgeCall, runJudgeGate } from "./judge-gate.js";

export interface GateContext {
  subject: AssertSubject & { phaseId: string; attempt: number };
  renderRubric: (rubric: string) => string;
  judge: JudgeCall;
}

/** The kinds of gate, by the key that names them in a pipeline. */
interface GateKinds {
  assert: AssertGate;
  judge: JudgeGate;
  checks: ChecksGate;
}
export type GateKind = keyof GateKinds;

/**
 * How a kind of gate is decided. `before-commit` gates grade the output here, free ones first
 * (a failing one spares the paid ones). `after-commit` gates need the commit to exist: the
 * engine's `ci` step decides them (the checks gate waits for the repository's CI).
 */
type GateRunner<K extends GateKind> =
  | {
      stage: "before-commit";
      free: boolean;
      run: (gate: GateKinds[K], context: GateContext, index: number) => Promise<GateResult>;
    }
  | { stage: "after-commit" };

/** One runner per gate kind: a kind added to the schema is a compile error until it is here. */
const GATE_RUNNERS: { [K in GateKind]: GateRunner<K> } = {
  assert: {
    stage: "before-commit",
    free: true,
    run: async (gate, context) => {
      const { type, value } = gate.assert;
      const outcome = runAssert(type, value, context.subject);
      return {
        gate: `assert ${type}`,
        pass: outcome.pass,
        score: outcome.pass ? 1 : 0,
        reasons: [outcome.reason],
      };
    },
  },
  judge: {
    stage: "before-commit",
    free: false,
    run: (gate, context, index) =>
      runJudgeGate(gate.judge, context.subject, context.renderRubric, context.judge, index),
  },
  checks: { stage: "after-commit" },
};

export function gateKind(gate: Gate): GateKind {
  if ("judge" in gate) return "judge";
  if ("assert" in gate) return "assert";
  return "checks";
}

/** Whether a gate is decided after the phase's commit (by the engine), not by {@link evaluateGates}. */
export function decidedAfterCommit(gate: Gate): boolean {
  return GATE_RUNNERS[gateKind(gate)].stage === "after-commit";
}

function runGate(gate: Gate, context: GateContext, index: number): Promise<GateResult> {
  const runner = GATE_RUNNERS[gateKind(gate)] as GateRunner<GateKind>;
  if (runner.stage === "after-commit")
    throw new Error(`a ${gateKind(gate)} gate is decided after the commit`);
  return runner.run(gate as never, context, index);
}

/**
 * Runs a phase's gates before its commit: the free ones first, in pipeline order, then, only if
 * they all pass, the paid ones. There is no point paying to grade work that is already refused.
 * Gates decided after the commit (checks) are left out; the verdict is theirs to extend.
 */
export async function evaluateGates(gates: readonly Gate[], context: GateContext): Promise<GatesVerdict> {
  const results: GateResult[] = [];
  const indexed = gates.flatMap((gate, index) => {
    const runner = GATE_RUNNERS[gateKind(gate)];
    return runner.stage === "before-commit" ? [{ gate, index, free: runner.free }] : [];
  });
  for (const { gate, index } of indexed.filter((g) => g.free))
    results.push(await runGate(gate, context, index));
  if (results.some((r) => !r.pass)) return { pass: false, results };
  for (const { gate, index } of indexed.filter((g) => !g.free))
    results.push(await runGate(gate, context, index));
  return { pass: results.every((r) => r.pass), results };
}
