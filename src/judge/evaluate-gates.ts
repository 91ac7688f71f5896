import type { GateResult, GatesVerdict } from "../engine/types.js";
import type { AssertGate, Gate, JudgeGate } from "../pipeline/schema.js";
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
}
export type GateKind = keyof GateKinds;

interface GateRunner<K extends GateKind> {
  /** Free gates run first: a failing one spares the paid ones. */
  free: boolean;
  run: (gate: GateKinds[K], context: GateContext, index: number) => Promise<GateResult>;
}

/** One runner per gate kind: a kind added to the schema is a compile error until it is here. */
const GATE_RUNNERS: { [K in GateKind]: GateRunner<K> } = {
  assert: {
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
    free: false,
    run: (gate, context, index) =>
      runJudgeGate(gate.judge, context.subject, context.renderRubric, context.judge, index),
  },
};

export function gateKind(gate: Gate): GateKind {
  return "judge" in gate ? "judge" : "assert";
}

function runGate(gate: Gate, context: GateContext, index: number): Promise<GateResult> {
  const kind = gateKind(gate);
  return (GATE_RUNNERS[kind] as GateRunner<typeof kind>).run(gate as never, context, index);
}

/**
 * Runs a phase's gates: the free ones first, in pipeline order, then, only if they all pass, the
 * paid ones. There is no point paying to grade work that is already refused.
 */
export async function evaluateGates(gates: readonly Gate[], context: GateContext): Promise<GatesVerdict> {
  const results: GateResult[] = [];
  const indexed = gates.map((gate, index) => ({ gate, index, free: GATE_RUNNERS[gateKind(gate)].free }));
  for (const { gate, index } of indexed.filter((g) => g.free))
    results.push(await runGate(gate, context, index));
  if (results.some((r) => !r.pass)) return { pass: false, results };
  for (const { gate, index } of indexed.filter((g) => !g.free))
    results.push(await runGate(gate, context, index));
  return { pass: results.every((r) => r.pass), results };
}
