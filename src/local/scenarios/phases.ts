import type { ResolvedAgentPhase, ResolvedPipeline } from "../../pipeline/resolved.js";

/** The phases that call models and make attempts, in pipeline order. */
export function agentPhases(pipeline: ResolvedPipeline): ResolvedAgentPhase[] {
  return pipeline.phases.filter((phase): phase is ResolvedAgentPhase => phase.kind === "agent");
}

/** Gate names as verdicts report them (`assert paths`, `judge`), numbered when one repeats (`judge #2`). */
export function gateLabels(phase: ResolvedAgentPhase): string[] {
  const asserts = phase.gates.flatMap((gate) => ("assert" in gate ? [`assert ${gate.assert.type}`] : []));
  const judges = phase.gates.flatMap((gate) => ("judge" in gate ? ["judge"] : []));
  return numbered([...asserts, ...judges]);
}

/** The labels with a repeat numbered from its second: `judge`, `judge #2`. */
export function numbered(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return n === 1 ? label : `${label} #${n}`;
  });
}
