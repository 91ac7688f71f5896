import { UNTRUSTED_BLOCK } from "../engine/template-context.js";
import { offlineResponse } from "../providers/provider.js";
import { ASSERT_CHECKS } from "./asserts.js";
import type { JudgeCall } from "./judge-gate.js";

/**
 * An offline stand-in for a judge model, for mutation testing (`atomic-scrum test --mutate`).
 * It grades work against a known good answer with cheap signals that a real judge also punishes:
 * missing content, missing length, the issue's words gone, placeholder text, a text cut off
 * mid-sentence, files changed that the good answer left alone and, for a criterion about the
 * house voice, the voice's markers gone. It reads neither the rubric's meaning nor the facts: a
 * fluent, on-topic answer that is wrong would pass it. Its figures say which gates can catch a
 * kind of bad output at all, not how well a real judge would.
 */

/** One piece of work as a judge sees it: the phase's text and, for a files phase, its changes. */
export interface JudgedWork {
  text: string;
  /** `content` is undefined for a deleted file. */
  files: { path: string; content: string | undefined }[];
}

/** What the heuristic compares work with. */
export interface HeuristicReference {
  /** The good output the mutations were made from: what a pass looks like. */
  good: JudgedWork;
  issue: { title: string; body: string };
  /** The pipeline's `voice_style`; its traits are what a voice criterion looks for. */
  voiceStyle?: string;
}

export interface HeuristicGrade {
  score: number;
  reason: string;
}

/** What the good output scores: high enough for any sensible threshold, short of perfect. */
const CEILING = 0.95;

/** A JudgeCall that grades offline against `reference`; its answers parse as a real judge's do. */
export function createHeuristicJudge(reference: HeuristicReference): JudgeCall {
  return async (request, target) => {
    const read = readJudgePrompt(request.prompt);
    const name = request.purpose.kind === "judge" ? request.purpose.criterion : "";
    const grade = gradeHeuristically(read.work, { name, rubric: read.rubric }, reference);
    return offlineResponse("heuristic", { ...request, tier: target.tier }, JSON.stringify(grade));
  };
}

/**
 * The rubric and the work in a judge prompt as `runJudgeGate` writes it: the criterion, the
 * rubric, `## The work`, then the work's untrusted blocks (the output, then one per file).
 */
export function readJudgePrompt(prompt: string): { rubric: string; work: JudgedWork } {
  const blocks = [...prompt.matchAll(UNTRUSTED_BLOCK)];
  // The work is the run of blocks at the very end; earlier blocks belong to the rubric.
  let start = prompt.length;
  const tail: RegExpMatchArray[] = [];
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i] as RegExpMatchArray;
    const end = (block.index ?? 0) + block[0].length;
    if (prompt.slice(end, start).trim() !== "") break;
    tail.unshift(block);
    start = block.index ?? 0;
    if ((block[2] ?? "").startsWith("phases.")) break;
  }
  const head = prompt.slice(0, start).replace(/\s*## The work\s*$/, "");
  const rubric = head.replace(/^## Criterion: [^\n]*\n+/, "");
  const work: JudgedWork = { text: "", files: [] };
  for (const block of tail) {
    const source = block[2] ?? "";
    const body = block[3] ?? "";
    if (source.startsWith("change:")) {
      const content = body === "(file deleted)" ? undefined : body;
      work.files.push({ path: source.slice("change:".length), content });
    } else work.text = body;
  }
  return { rubric, work };
}

/** Grades one criterion. Every criterion gets the content score; a voice criterion also its voice. */
export function gradeHeuristically(
  work: JudgedWork,
  criterion: { name: string; rubric: string },
  reference: HeuristicReference,
): HeuristicGrade {
  const { good } = reference;
  const notes: string[] = [];
  const goodWords = contentWords(allText(good));
  const workWords = contentWords(allText(work));
  const coverage = share(goodWords, workWords);
  const issueWords = intersect(contentWords(`${reference.issue.title}\n${reference.issue.body}`), goodWords);
  const onIssue = share(issueWords, workWords);
  const ratio = wordCount(allText(work)) / Math.max(1, wordCount(allText(good)));
  const length = ratio >= 0.8 ? (ratio <= 2 ? 1 : 2 / ratio) : ratio / 0.8;
  if (coverage < 0.9) notes.push(`${percent(coverage)} of the good answer's distinctive words`);
  if (onIssue < 0.9) notes.push(`${percent(onIssue)} of the issue's words`);
  if (length < 1) notes.push(`${percent(ratio)} of the good answer's length`);
  // A geometric mean: one signal near zero sinks the grade, as it would for a reader.
  let score = Math.cbrt(coverage * onIssue * length);
  const caps: [boolean, number, string][] = [
    [hasPlaceholder(work), 0.2, "placeholder text"],
    [cutOff(work, good), 0.3, "cut off mid-sentence"],
    [
      extraFiles(work, good).length > 0,
      0.5,
      `changes files the good answer leaves alone (${extraFiles(work, good).join(", ")})`,
    ],
  ];
  for (const [applies, cap, note] of caps) {
    if (!applies) continue;
    score = Math.min(score, cap);
    notes.push(note);
  }
  if (reference.voiceStyle && /\bvoice\b/i.test(`${criterion.name}\n${criterion.rubric}`)) {
    const voice = voiceRetention(work.text, good.text, reference.voiceStyle);
    if (voice.score < score) score = voice.score;
    notes.push(...voice.notes);
  }
  const graded = Math.round(CEILING * score * 100) / 100;
  const why = notes.length > 0 ? notes.join("; ") : "as complete as the good answer";
  return { score: graded, reason: `heuristic stand-in: ${why}` };
}

function allText(work: JudgedWork): string {
  return [work.text, ...work.files.map((file) => file.content ?? "")].join("\n");
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Function words tell nothing about what a text is about. */
const STOPWORDS = new Set(
  (
    "about above after again also because been before being both could does doing down each every " +
    "from have here into just like made make more most much must only other over same should some " +
    "such than that their them then there these they this those through under until very want were " +
    "what when where which while will with would your yours ours"
  ).split(" "),
);

/** Words of four letters or more that say what a text is about. */
function contentWords(text: string): Set<string> {
  const words = text.toLowerCase().match(/\p{L}[\p{L}\p{N}_]*/gu) ?? [];
  return new Set(words.filter((word) => word.length >= 4 && !STOPWORDS.has(word)));
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((word) => b.has(word)));
}

/** The share of `wanted` found in `found`; 1 when nothing is wanted. */
function share(wanted: Set<string>, found: Set<string>): number {
  if (wanted.size === 0) return 1;
  return intersect(wanted, found).size / wanted.size;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

function hasPlaceholder(work: JudgedWork): boolean {
  return !ASSERT_CHECKS["no-placeholders"]({ text: allText(work) }, undefined).pass;
}

/**
 * Whether the work stops where the good answer goes on: its last line is the start of a line of
 * the good answer, not the whole of one. Checked for the text and for each file.
 */
function cutOff(work: JudgedWork, good: JudgedWork): boolean {
  const pairs: [string, string][] = [[work.text, good.text]];
  for (const file of work.files) {
    const before = good.files.find((candidate) => candidate.path === file.path)?.content;
    if (file.content !== undefined && before !== undefined) pairs.push([file.content, before]);
  }
  return pairs.some(([text, reference]) => {
    const last = text.trimEnd().split("\n").at(-1)?.trim() ?? "";
    if (last === "") return false;
    const lines = reference.split("\n").map((line) => line.trim());
    return !lines.includes(last) && lines.some((line) => line.startsWith(last));
  });
}

function extraFiles(work: JudgedWork, good: JudgedWork): string[] {
  const known = new Set(good.files.map((file) => file.path));
  return work.files.map((file) => file.path).filter((path) => !known.has(path));
}

/** One trait of a house voice that can be counted, and how much of it the work kept. */
interface VoiceMarker {
  /** Whether the style asks for this trait. */
  asked: RegExp;
  name: string;
  /** 0..1: how much of the good text's trait the work kept; undefined when the good text lacks it. */
  retained: (work: string, good: string) => number | undefined;
}

const FIRST_PERSON = /\b(we|us|our|ours|ourselves|I|me|my)\b/gi;
const FORMAL =
  /\b(utili[sz]e[sd]?|utili[sz]ing|obtain(s|ed)?|commence[sd]?|assists?|demonstrates?|approximately|rectif(y|ies)|sufficient|additionally|consequently|furthermore|therefore|facilitates?|regarding|individuals|subsequently|prior to|in order to)\b/gi;

const VOICE_MARKERS: VoiceMarker[] = [
  {
    asked: /first person|\bwe\b|\bour\b/i,
    name: "first person",
    retained: (work, good) => ratioKept(rate(work, FIRST_PERSON), rate(good, FIRST_PERSON)),
  },
  {
    asked: /short sentences|short paragraphs|\bterse\b|\bpunchy\b/i,
    name: "short sentences",
    retained: (work, good) => {
      const [w, g] = [meanSentenceWords(work), meanSentenceWords(good)];
      return g === 0 || w === 0 ? undefined : Math.min(1, g / w);
    },
  },
  {
    asked: /plain words|plain language|\bjargon\b|\bplain\b/i,
    name: "plain words",
    retained: (work, good) => 1 - Math.min(1, Math.max(0, rate(work, FORMAL) - rate(good, FORMAL)) / 1.5),
  },
  {
    asked: /exclamation/i,
    name: "no exclamation marks",
    // A trait of absence: it counts only when the work breaks it and the good text did not.
    retained: (work, good) =>
      count(prose(work), /!(\s|$)/g) > count(prose(good), /!(\s|$)/g) ? 0 : undefined,
  },
];

/**
 * How much of the good text's voice the work kept: the mean, over the traits the style asks for
 * and the good text shows, of each trait's share kept; phrases the style rules out sink it.
 */
function voiceRetention(work: string, good: string, style: string): { score: number; notes: string[] } {
  const kept = VOICE_MARKERS.filter((marker) => marker.asked.test(style)).flatMap((marker) => {
    const value = marker.retained(work, good);
    return value === undefined ? [] : [{ name: marker.name, value }];
  });
  const notes = kept.filter((k) => k.value < 0.9).map((k) => `${k.name}: ${percent(k.value)} kept`);
  let score = kept.length > 0 ? kept.reduce((sum, k) => sum + k.value, 0) / kept.length : 1;
  const ruledOut = ruledOutPhrases(style).filter(
    (phrase) => work.toLowerCase().includes(phrase) && !good.toLowerCase().includes(phrase),
  );
  if (ruledOut.length > 0) {
    score = Math.min(score, 0.3);
    notes.push(`phrases the voice rules out: ${ruledOut.join(", ")}`);
  }
  return { score, notes };
}

/** Quoted phrases in the sentences of a style that rule things out ("no "leverage", ..."). */
function ruledOutPhrases(style: string): string[] {
  return style
    .split(/(?<=[.;])\s+/)
    .filter((sentence) => /\bno\b|\bnever\b|\bavoid\b/i.test(sentence))
    .flatMap((sentence) =>
      [...sentence.matchAll(/["“]([^"”]+)["”]/g)].map((m) => (m[1] ?? "").toLowerCase()),
    );
}

/** Prose only: code blocks, inline code and tables say nothing about the voice. */
function prose(text: string): string {
  return text
    .replace(/```[\s\S]*?(```|$)/g, " ")
    .replace(/`[^`\n]*`/g, " ")
    .split("\n")
    .filter((line) => !/^\s*(\||#)/.test(line))
    .join("\n");
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/** Occurrences per 100 words of prose. */
function rate(text: string, pattern: RegExp): number {
  const body = prose(text);
  return (100 * count(body, pattern)) / Math.max(1, wordCount(body));
}

function ratioKept(work: number, good: number): number | undefined {
  return good === 0 ? undefined : Math.min(1, work / good);
}

function meanSentenceWords(text: string): number {
  const sentences = prose(text)
    .split(/\n\s*\n|(?<=[.!?])\s+/)
    .map((sentence) => wordCount(sentence))
    .filter((n) => n > 0);
  return sentences.length === 0 ? 0 : sentences.reduce((a, b) => a + b, 0) / sentences.length;
}
