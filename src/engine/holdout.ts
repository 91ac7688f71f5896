import type { ResolvedPipeline } from "../pipeline/resolved.js";

/** Rubrics shorter than this are too generic to identify ("clear", "correct"). */
const MIN_RUBRIC_LENGTH = 24;

function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

/**
 * The holdout principle, checked at run time: returns the criterion whose rubric text appears
 * in an agent prompt, if any. Agents must never see what they are judged by.
 */
export function findRubricLeak(prompt: string, pipeline: ResolvedPipeline): string | undefined {
  const haystack = normalise(prompt);
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const gate of phase.gates) {
      if (!("judge" in gate)) continue;
      for (const criterion of gate.judge.criteria) {
        const rubric = normalise(criterion.rubric);
        if (rubric.length >= MIN_RUBRIC_LENGTH && haystack.includes(rubric)) {
          return `${phase.id}: ${criterion.name}`;
        }
      }
    }
  }
  return undefined;
}
