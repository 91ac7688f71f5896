import { createHash } from "node:crypto";
import { UNTRUSTED_BLOCK } from "../../engine/template-context.js";
import { mostWords } from "../../pipeline/asked-length.js";
import { oneLine } from "../../util/text.js";
import type { CallPurpose } from "../provider.js";
import { type JsonField, type Request, readRequest } from "./read-request.js";

export const SIMULATED_MARK =
  "> Simulated output: produced offline by the `simulated` provider; no model was called.";

type AgentPurpose = Extract<CallPurpose, { kind: "agent" }>;

/** A number in [0, 1) fixed by the seed. */
export function unit(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

const SENTENCES = [
  "The issue describes a concrete, observable behaviour, and this section restates it in testable terms.",
  "Each point below can be checked by reading the change or by running a single command.",
  "Where the issue leaves a decision open, the smallest choice that keeps existing behaviour intact is taken.",
  "Edge cases matter here: empty input, very long input and input from an untrusted source are each covered.",
  "Nothing in this section depends on network access or on credentials that a contributor might not have.",
  "The change keeps the public interface stable, so existing callers do not need to be updated.",
  "A reviewer can verify this claim against the repository at the commit this phase produced.",
  "Risks are named explicitly rather than implied, together with how each one would show up in practice.",
];

/** About 30 sentences in all, however many sections: the length of a real document. */
const DEFAULT_SENTENCES = 30;

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

interface Section {
  heading?: string;
  fixed: string[];
  items: string[];
}

/**
 * A document answer that follows the prompt: its template's headings, labels and fixed lines, its
 * length (a word range, or a count of sentences, lines, bullets or paragraphs), a bullet list or
 * JSON when asked. A revision phase hands back the document it revises, cut to any length asked.
 */
export function writeDocument(purpose: AgentPurpose, prompt: string): string {
  const request = readRequest(prompt, purpose.task);
  // JSON carries no mark: the mark would make the answer not JSON. The response still says simulated.
  if (request.json) return jsonAnswer(request.json, purpose);
  const previous = longestPhaseBlock(prompt);
  if ((purpose.task === "mechanical" || /revis/.test(purpose.phaseId)) && previous) {
    return `${cutToLength(`${firstOf(request)}${SIMULATED_MARK}\n\n${previous.trim()}`, request)}\n`;
  }
  const { length } = request;
  const units =
    (length.sentences ?? 0) + (length.lines ?? 0) + (length.bullets ?? 0) + (length.paragraphs ?? 0);
  const sections = units > 0 ? shortAnswer(purpose, request) : longAnswer(purpose, request);
  const head =
    units > 0
      ? [SIMULATED_MARK, ""]
      : [`# ${purpose.phaseName}: ${oneLine(purpose.issue.title)}`, "", SIMULATED_MARK, ""];
  const render = () => firstOf(request) + [...head, ...sections.flatMap(renderSection)].join("\n");
  const most = mostWords(length);
  const least = length.minWords ?? 0;
  // Cut the longest sections first, keeping one item each, then add to the shortest until long enough.
  let count = words(render());
  while (most !== undefined && count > most) {
    const longest = [...sections].sort((a, b) => b.items.length - a.items.length)[0];
    if (!longest || longest.items.length <= 1) break;
    count -= words(longest.items.pop() ?? "");
  }
  while (count < least) {
    // Never below a closing block of fixed lines: "the last line is exactly `Verdict: ...`".
    const growable = sections.filter((section) => section.heading || section.items.length > 0);
    const shortest = growable.sort((a, b) => a.items.length - b.items.length)[0];
    if (!shortest) break;
    const added = item(request, purpose, sections.indexOf(shortest), shortest.items.length);
    shortest.items.push(added);
    count += words(added);
  }
  const text = render();
  if (most === undefined || count <= most) return `${text}\n`;
  // Cut the body, never the closing block of fixed lines ("end with the line `Risk: low`").
  const closing = sections.at(-1);
  if (closing && !closing.heading && closing.items.length === 0 && closing.fixed.length > 0) {
    sections.pop();
    const tail = closing.fixed.join("\n");
    return `${cutWords(render(), Math.max(0, most - words(tail))).trimEnd()}\n\n${tail}\n`;
  }
  return `${cutWords(text, most)}\n`;
}

/** The lines the prompt says the answer starts with, each on its own line, then a blank line. */
function firstOf(request: Request): string {
  return request.firstLines.length > 0 ? `${request.firstLines.join("\n")}\n\n` : "";
}

function renderSection(section: Section): string[] {
  return [
    ...(section.heading ? [`## ${section.heading}`, ""] : []),
    ...section.fixed.flatMap((l) => [l, ""]),
    ...section.items,
    "",
  ];
}

function longAnswer(purpose: AgentPurpose, request: Request): Section[] {
  const placed = new Set<string>();
  const sections: Section[] = request.sections.map((heading, index) => {
    const fixed: string[] = [];
    for (const [key, line] of request.fixedLines) {
      // A line the answer must end with goes last, not under its heading.
      if (request.lastLines.includes(line)) continue;
      if (heading.toLowerCase().includes(key.toLowerCase())) {
        fixed.push(line);
        placed.add(key);
      }
    }
    const perSection = Math.max(3, Math.ceil(DEFAULT_SENTENCES / request.sections.length));
    const count = perSection + Math.floor(unit(`${purpose.phaseId}/${purpose.attempt}/${index}`) * 3);
    const items = Array.from({ length: count }, (_, i) => item(request, purpose, index, i));
    return { heading, fixed, items };
  });
  const rest = [...request.fixedLines].filter(([key]) => !placed.has(key)).map(([, line]) => line);
  if (rest.length > 0) sections.push({ fixed: rest, items: [] });
  return sections;
}

/** An answer sized in units: a paragraph of sentences, then lines, bullets and paragraphs asked. */
function shortAnswer(purpose: AgentPurpose, request: Request): Section[] {
  const { sentences = 0, lines = 0, bullets = 0, paragraphs = 0 } = request.length;
  let n = 0;
  const sentence = () => pick(purpose, n++);
  const sections: Section[] = [];
  if (sentences > 0)
    sections.push({ fixed: [], items: [Array.from({ length: sentences }, sentence).join(" ")] });
  if (lines > 0) sections.push({ fixed: [], items: Array.from({ length: lines }, sentence) });
  if (bullets > 0)
    sections.push({ fixed: [], items: Array.from({ length: bullets }, () => `- ${sentence()}`) });
  for (let i = 0; i < paragraphs; i++)
    sections.push({ fixed: [], items: [Array.from({ length: 3 }, sentence).join(" ")] });
  const fixed = [...request.fixedLines.values()];
  if (fixed.length > 0) sections.push({ fixed, items: [] });
  return sections;
}

function pick(purpose: AgentPurpose, i: number): string {
  return SENTENCES[Math.floor(unit(`${purpose.phaseId}/short/${i}`) * SENTENCES.length)] ?? "";
}

function item(request: Request, purpose: AgentPurpose, section: number, i: number): string {
  const sentence = SENTENCES[Math.floor(unit(`${purpose.phaseId}/${section}/${i}`) * SENTENCES.length)];
  const labelled = request.label && section === labelledSection(request);
  const marker = labelled ? `- ${request.label}${i + 1}:` : request.bullets ? "-" : `${i + 1}.`;
  return `${marker} ${request.status ? `${request.status}: ` : ""}${sentence}`;
}

/** The section that gets labelled items: the one that names the label's list, else the first. */
function labelledSection(request: Request): number {
  const index = request.sections.findIndex((s) => /criteria|facts|findings|claims/i.test(s));
  return index >= 0 ? index : 0;
}

/** A revised document cut to the most words asked, by dropping list items from the end. */
function cutToLength(text: string, request: Request): string {
  const most = mostWords(request.length);
  if (most === undefined) return text;
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0 && words(lines.join("\n")) > most; i--) {
    if (/^(?:\d+\.|[-*]) /.test(lines[i] ?? "")) lines.splice(i, 1);
  }
  const cut = lines.join("\n");
  return words(cut) > most ? cutWords(cut, most) : cut;
}

/** The text cut to `most` words, whole lines first, then the words of the last line. */
function cutWords(text: string, most: number): string {
  const out: string[] = [];
  let count = 0;
  for (const line of text.split("\n")) {
    const n = words(line);
    if (count + n <= most) {
      out.push(line);
      count += n;
      continue;
    }
    const keep = line
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, most - count);
    if (keep.length > 0) out.push(`${keep.join(" ").replace(/[,;:]$/, "")}.`);
    break;
  }
  return out.join("\n").trimEnd();
}

const KEYWORDS: [RegExp, string][] = [
  [/\b(?:bug|fix|error|crash|broken|fails?)\b/i, "bug"],
  [/\b(?:docs?|documentation|readme)\b/i, "docs"],
  [/\?|\b(?:how|why|question)\b/i, "question"],
];

/** A JSON object with the fields the prompt names: lists for plural names, a choice it allows. */
function jsonAnswer(fields: JsonField[], purpose: AgentPurpose): string {
  const title = purpose.issue.title;
  const choose = (choices: string[]) =>
    choices.find((choice) => KEYWORDS.some(([pattern, name]) => name === choice && pattern.test(title))) ??
    choices.find((choice) => /feature|enhancement/.test(choice)) ??
    choices[0];
  const value: Record<string, unknown> = {};
  for (const field of fields.length > 0 ? fields : [{ name: "summary" }]) {
    if (field.kind === "number") {
      value[field.name] = field.least ?? 1;
      continue;
    }
    if (field.kind === "boolean") {
      value[field.name] = false;
      continue;
    }
    const chosen = field.choices ? choose(field.choices) : undefined;
    const plural = field.kind === "list" || (/s$/.test(field.name) && !/(?:ss|status)$/.test(field.name));
    const text = /title|name|summary/.test(field.name) ? oneLine(title) : pick(purpose, 0);
    value[field.name] = plural ? [chosen ?? text] : (chosen ?? text);
  }
  return JSON.stringify(value, null, 2);
}

/** The longest earlier phase output in the prompt: the document a revision phase revises. */
function longestPhaseBlock(prompt: string): string | undefined {
  const blocks = [...prompt.matchAll(UNTRUSTED_BLOCK)].filter((m) =>
    /^phases\.[a-z0-9-]+\.output$/.test(m[2] ?? ""),
  );
  const text = blocks.map((m) => m[3] ?? "").sort((a, b) => b.length - a.length)[0];
  return text?.replace(`${SIMULATED_MARK}\n\n`, "");
}
