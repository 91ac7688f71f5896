import type { Problem } from "../../pipeline/problem.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../../pipeline/resolved.js";
import { suggest } from "../../pipeline/template-variables.js";
import { agentPhases, gateLabels } from "./phases.js";
import type { ScenarioFile } from "./schema.js";

/** One file of an `extends` chain, parsed, with a way to point at its lines. */
export interface Layer {
  file: string;
  value: ScenarioFile;
  at: (path: PropertyKey[], message: string, key?: string) => Problem;
}

/** The phase a scenario names, or the problem with the name. */
function agentPhase(
  pipeline: ResolvedPipeline,
  id: string,
  problem: (message: string) => Problem,
): ResolvedAgentPhase | Problem {
  const phase = pipeline.phases.find((candidate) => candidate.id === id);
  if (phase?.kind === "agent") return phase;
  if (phase) {
    const kind = phase.kind === "wait" ? "a wait" : "an approval";
    return problem(`"${id}" is ${kind} phase: only agent phases call models and make attempts`);
  }
  const ids = agentPhases(pipeline).map((p) => p.id);
  return problem(`pipeline "${pipeline.name}" has no phase "${id}"${suggest(id, ids)}`);
}

/** Recorded answers for phases that do not make attempts, or for judge criteria they do not have. */
export function cassetteProblems(layer: Layer, pipeline: ResolvedPipeline): Problem[] {
  const problems: Problem[] = [];
  for (const [id, attempts] of Object.entries(layer.value.cassettes ?? {})) {
    const phase = agentPhase(pipeline, id, (message) => layer.at(["cassettes"], message, id));
    if ("message" in phase) {
      problems.push(phase);
      continue;
    }
    const criteria = phase.gates.flatMap((gate) =>
      "judge" in gate ? gate.judge.criteria.map((c) => c.name) : [],
    );
    for (const [index, attempt] of attempts.entries()) {
      for (const name of Object.keys(attempt.judge ?? {})) {
        if (criteria.includes(name)) continue;
        const known = criteria.length
          ? `its criteria are: ${criteria.map((c) => `"${c}"`).join(", ")}`
          : "it has no judge";
        const message = `phase "${id}" has no judge criterion "${name}"${suggest(name, criteria)}; ${known}`;
        problems.push(layer.at(["cassettes", id, index, "judge"], message, name));
      }
    }
  }
  return problems;
}

/** Expectations about phases or gates the pipeline does not have, or that contradict each other. */
export function expectProblems(layer: Layer, pipeline: ResolvedPipeline): Problem[] {
  const problems: Problem[] = [];
  for (const [id, want] of Object.entries(layer.value.expect.phases)) {
    const phase = agentPhase(pipeline, id, (message) => layer.at(["expect", "phases"], message, id));
    if ("message" in phase) {
      problems.push(phase);
      continue;
    }
    const at = (path: PropertyKey[], message: string, key?: string) =>
      layer.at(["expect", "phases", id, ...path], message, key);
    const { attempts, tiers, gates } = want;
    if (attempts !== undefined && tiers && tiers.length !== attempts) {
      problems.push(at(["tiers"], `lists ${tiers.length} tier(s) but attempts is ${attempts}`));
    }
    if (attempts !== undefined && gates && gates.length > attempts) {
      problems.push(at(["gates"], `lists ${gates.length} attempts but attempts is ${attempts}`));
    }
    const labels = gateLabels(phase);
    for (const [index, expected] of (gates ?? []).entries()) {
      if (typeof expected === "string") continue;
      for (const name of Object.keys(expected)) {
        if (labels.includes(name)) continue;
        if (name === "checks" && phase.gates.some((gate) => "checks" in gate)) {
          const message = `phase "${id}"'s checks gate waits for CI on GitHub; a scenario has none and skips it, so expect nothing of it`;
          problems.push(at(["gates", index], message, name));
          continue;
        }
        const known = labels.length ? labels.map((l) => `"${l}"`).join(", ") : "none";
        const message = `phase "${id}" has no gate "${name}"${suggest(name, labels)}; its gates are: ${known}`;
        problems.push(at(["gates", index], message, name));
      }
    }
  }
  return problems;
}
