import type { ResolvedPipeline } from "../pipeline/resolved.js";

/**
 * A run of this many words shared with a rubric is the rubric showing through. Six words almost
 * never repeat by chance between a task description and a grading rubric (the built-in pipelines
 * are tested for it), while a paraphrase that keeps the rubric's substance usually keeps a run
 * this long.
 */
const WINDOW = 6;

function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\{\{[^}]*\}\}|\{%[^%]*%\}/g, " ")
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function windows(list: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + WINDOW <= list.length; i++) out.add(list.slice(i, i + WINDOW).join(" "));
  return out;
}

/** Every rubric's word windows, with the criterion each belongs to. */
function rubricWindows(pipeline: ResolvedPipeline): Map<string, string> {
  const out = new Map<string, string>();
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const gate of phase.gates) {
      if (!("judge" in gate)) continue;
      for (const criterion of gate.judge.criteria) {
        for (const window of windows(words(criterion.rubric)))
          out.set(window, `${phase.id}: ${criterion.name}`);
      }
    }
  }
  return out;
}

/**
 * The holdout principle, checked at run time: returns the criterion whose rubric shows through
 * an agent prompt (six words in a row), if any. Agents must never see what they are judged by.
 */
export function findRubricLeak(prompt: string, pipeline: ResolvedPipeline): string | undefined {
  const rubrics = rubricWindows(pipeline);
  for (const window of windows(words(prompt))) {
    const criterion = rubrics.get(window);
    if (criterion) return criterion;
  }
  return undefined;
}

/**
 * A judge's critique goes back to the agent on a retry, but a judge may quote its rubric: any
 * six-word run the critique shares with a rubric is cut out before the agent sees it.
 */
export function redactRubrics(critique: string, pipeline: ResolvedPipeline): string {
  const rubrics = rubricWindows(pipeline);
  if (rubrics.size === 0) return critique;
  const tokens = critique.split(/(\s+)/);
  const wordAt: number[] = [];
  tokens.forEach((token, index) => {
    if (token.trim()) wordAt.push(index);
  });
  const hidden = new Set<number>();
  for (let i = 0; i + WINDOW <= wordAt.length; i++) {
    const slice = wordAt.slice(i, i + WINDOW);
    const key = words(slice.map((index) => tokens[index]).join(" ")).join(" ");
    if (rubrics.has(key)) for (const index of slice) hidden.add(index);
  }
  if (hidden.size === 0) return critique;
  return tokens
    .map((token, index) => (hidden.has(index) ? "…" : token))
    .join("")
    .replace(/…(\s+…)+/g, "[…]");
}
