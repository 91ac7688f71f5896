import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { type FoldedWord, foldedWords } from "../util/folded-words.js";

/**
 * A run of this many words shared with a rubric is the rubric showing through. Six words almost
 * never repeat by chance between a task description and a grading rubric (the built-in pipelines
 * are tested for it), while a paraphrase that keeps the rubric's substance usually keeps a run
 * this long.
 */
const WINDOW = 6;

const TEMPLATE_TAG = /\{\{[^}]*\}\}|\{%[^%]*%\}/g;

/**
 * A rubric's words, folded as the text it is compared with (issue 11: a rubric quoted with
 * zero-width characters inside words or Cyrillic look-alike letters went through). Its template
 * tags are not words a judge reads, so they are blanked; only here: in a prompt or critique, text
 * between braces is text the agent reads, and blanking it there let a judge's quote of its rubric
 * through as `{{ … }}`.
 */
function rubricWords(rubric: string): FoldedWord[] {
  return foldedWords(rubric.replace(TEMPLATE_TAG, " "));
}

/**
 * Words any English text is made of. A window of a rubric with fewer than {@link CONTENT_WORDS}
 * other words is a stock phrase ("at the end of the day", "in a way that a new"): it says nothing
 * of what the judge grades, and matching it held out ordinary READMEs and stopped runs whose issue
 * happened to use it. The windows around it, which carry the rubric's substance, still match.
 */
const FUNCTION_WORDS = new Set(
  (
    "a an the and or but nor of in on at to for from by with as into onto about than then that this these those " +
    "it its is are was were be been being am do does did have has had not no so if when while where which who " +
    "whom what how why there here they them their we us our you your he she his her i me my can could will would " +
    "shall should may might must one all any each every some more most such only own same other very just also " +
    "out up down over under again end day way thing things"
  ).split(" "),
);
const CONTENT_WORDS = 3;

function distinctive(list: FoldedWord[], start: number): boolean {
  let content = 0;
  for (const word of list.slice(start, start + WINDOW)) if (!FUNCTION_WORDS.has(word.text)) content++;
  return content >= CONTENT_WORDS;
}

function windowKey(list: FoldedWord[], start: number): string {
  return list
    .slice(start, start + WINDOW)
    .map((word) => word.text)
    .join(" ");
}

/**
 * Every rubric's word windows, with the criterion each belongs to. Built once per pipeline and
 * reused over many texts (the context filter checks each file of a phase against it).
 */
export type RubricIndex = ReadonlyMap<string, string>;

/** The word windows of every judge rubric of `pipeline`. */
export function rubricIndex(pipeline: ResolvedPipeline): RubricIndex {
  const out = new Map<string, string>();
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const gate of phase.gates) {
      if (!("judge" in gate)) continue;
      for (const criterion of gate.judge.criteria) {
        const list = rubricWords(criterion.rubric);
        for (let i = 0; i + WINDOW <= list.length; i++) {
          if (!distinctive(list, i)) continue;
          out.set(windowKey(list, i), `${phase.id}: ${criterion.name}`);
        }
      }
    }
  }
  return out;
}

/** The criterion whose rubric shows through `text` (six words in a row, however disguised), if any. */
export function leakIn(text: string, rubrics: RubricIndex): string | undefined {
  if (rubrics.size === 0) return undefined;
  const list = foldedWords(text);
  for (let i = 0; i + WINDOW <= list.length; i++) {
    const criterion = rubrics.get(windowKey(list, i));
    if (criterion) return criterion;
  }
  return undefined;
}

/**
 * The holdout principle, checked at run time: returns the criterion whose rubric shows through
 * an agent prompt (six words in a row, however disguised), if any. Agents must never see what
 * they are judged by.
 */
export function findRubricLeak(prompt: string, pipeline: ResolvedPipeline): string | undefined {
  return leakIn(prompt, rubricIndex(pipeline));
}

/** The text with every word run that a rubric window covers replaced by `[…]`; unchanged if none. */
function cutRubricRuns(text: string, rubrics: RubricIndex): string {
  const list = foldedWords(text);
  const hidden = new Array<boolean>(list.length).fill(false);
  for (let i = 0; i + WINDOW <= list.length; i++) {
    if (rubrics.has(windowKey(list, i))) hidden.fill(true, i, i + WINDOW);
  }
  if (!hidden.includes(true)) return text;
  let out = "";
  let copied = 0;
  for (let i = 0; i < list.length; i++) {
    if (!hidden[i]) continue;
    let last = i;
    while (hidden[last + 1]) last++;
    out += `${text.slice(copied, list[i]?.start)}[…]`;
    copied = list[last]?.end ?? text.length;
    i = last;
  }
  return out + text.slice(copied);
}

/**
 * A judge's critique (or any feedback) goes back to the agent on a retry, but a judge may quote
 * its rubric, disguised or not: any six-word run the critique shares with a rubric is cut out of
 * the critique as written, so the agent still reads the rest of it. Cutting can bring words
 * together that make a rubric run of their own, so it repeats until nothing is left to cut.
 */
export function redactRubrics(critique: string, pipeline: ResolvedPipeline): string {
  const rubrics = rubricIndex(pipeline);
  if (rubrics.size === 0) return critique;
  let text = critique;
  for (let pass = 0; pass < MAX_CUT_PASSES; pass++) {
    const cut = cutRubricRuns(text, rubrics);
    if (cut === text) return text;
    text = cut;
  }
  return WITHHELD;
}

/**
 * Cuts in a row before the feedback is withheld whole. A judge's quote needs one, two when a cut
 * joins the words around it; a text built to need one pass per six words (rubric runs nested in
 * each other) took 14 s for 78 KB of feedback when passes were unbounded, blocking the worker.
 */
const MAX_CUT_PASSES = 8;

/** What the agent reads instead of feedback that kept quoting a rubric after every cut. */
export const WITHHELD = "[…] (this feedback is withheld: it quotes the rubrics it was graded by)";
