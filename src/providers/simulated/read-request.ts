import { UNTRUSTED_BLOCK } from "../../engine/template-context.js";
import { type AskedLength, askedLength } from "../../pipeline/asked-length.js";
import type { Task } from "../../pipeline/schema.js";

/**
 * What a prompt asks for, read the way a model reads it: off the instructions only (untrusted
 * blocks removed: an issue cannot change the format), never off the pipeline's gates. Real
 * pipelines assert on these shapes and tell the agent about them, so an offline run that follows
 * them passes where a capable model would.
 */
export interface Request {
  /** Headings of a fenced template, else the task's usual sections. */
  sections: string[];
  /** Item labels such as "F1, F2" (`F`). */
  label?: string;
  /** Fixed lines such as `Verdict: approve`, by key. */
  fixedLines: Map<string, string>;
  /** Fixed lines the prompt says the answer starts with ("start with the line `Plan: ready`"). */
  firstLines: string[];
  /** Fixed lines the prompt says the answer ends with ("end with `Verdict: approve`"). */
  lastLines: string[];
  /** A status word such as **SUPPORTED**. */
  status?: string;
  length: AskedLength;
  /** "a bullet list", "as bullet points". */
  bullets: boolean;
  /** The answer is asked for as JSON: the field names the prompt gives, in order. */
  json?: JsonField[];
}

export interface JsonField {
  name: string;
  /** The values the prompt allows, when it lists them ("from bug, feature, docs and question"). */
  choices?: string[];
  /** A number ("from 1 to 3", "as a number", "a count"), a yes or no ("true or false"), a list ("a list of"). */
  kind?: "number" | "boolean" | "list";
  /** The least number the prompt allows ("from 1 to 3": 1). */
  least?: number;
}

const SECTIONS: Record<Task, string[]> = {
  research: ["Summary", "What the issue asks for", "Acceptance criteria", "Out of scope", "Open questions"],
  write: ["Introduction", "The problem", "What we did", "What it means for you", "Next steps"],
  code: ["Summary", "Changes", "Notes"],
  review: ["Verdict", "Findings", "Suggested changes", "What is good"],
  mechanical: ["Revised text"],
};

const STARTS_WITH =
  /\b(?:start|begin|open)s?(?: (?:your|the) (?:answer|reply|document|output|plan|review))? with(?: (?:the|a|this) line)?:? *$|\bfirst line (?:is|reads|must be|should be)?:? *$/i;
const ENDS_WITH =
  /\b(?:end|close|finish)(?:e?s)?(?: (?:your|the) (?:answer|reply|document|output|plan|review))? with(?: (?:the|a|this) line)?:? *$|\blast line (?:is|reads|must be|should be)?:? *$/i;

/** The prompt with its untrusted blocks cut out: the part a model takes instructions from. */
export function instructionsOf(prompt: string): string {
  return prompt.replace(UNTRUSTED_BLOCK, "");
}

export function readRequest(prompt: string, task: Task): Request {
  const instructions = instructionsOf(prompt);
  const fences = [...instructions.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] ?? "").join("\n");
  const sections = [...fences.matchAll(/^## (.+)$/gm)].map((m) => (m[1] ?? "").trim());
  const fixedLines = new Map<string, string>();
  const firstLines: string[] = [];
  const lastLines: string[] = [];
  for (const m of fences.matchAll(/^([A-Z][A-Za-z ]{1,20}): ([a-z][\w -]*)$/gm)) {
    const key = m[1] ?? "";
    if (!fixedLines.has(key)) fixedLines.set(key, `${key}: ${m[2]}`);
  }
  for (const m of [
    ...instructions.matchAll(/`([A-Z][A-Za-z ]{1,20}): ([^`\n]+)`/g),
    ...instructions.matchAll(/"([A-Z][A-Za-z ]{1,20}): ([^"\n]+)"/g),
  ]) {
    const key = m[1] ?? "";
    if (fixedLines.has(key) || firstLines.some((l) => l.startsWith(`${key}:`))) continue;
    const line = `${key}: ${m[2]}`;
    // Where the prompt says the line goes, as a model reads it: the words just before the quote.
    const before = instructions.slice(Math.max(0, (m.index ?? 0) - 40), m.index);
    if (STARTS_WITH.test(before)) firstLines.push(line);
    else {
      if (ENDS_WITH.test(before)) lastLines.push(line);
      fixedLines.set(key, line);
    }
  }
  const request: Request = {
    sections: sections.length > 0 ? sections : SECTIONS[task],
    fixedLines,
    firstLines,
    lastLines,
    length: askedLength(instructions),
    bullets: /\bbullet(?:ed)? (?:list|points)\b|\bas bullets\b/i.test(instructions),
  };
  const label = /\b([A-Z]{1,3})1, \1 ?2\b/.exec(instructions)?.[1];
  const status = /\*\*([A-Z]{4,})\*\*/.exec(instructions)?.[1];
  if (label) request.label = label;
  if (status) request.status = status;
  const json = jsonFields(instructions);
  if (json) request.json = json;
  return request;
}

/**
 * The fields of a JSON answer the prompt asks for: the `backticked` names in the paragraph that
 * asks for JSON. Undefined when the prompt does not ask for JSON.
 */
function jsonFields(instructions: string): JsonField[] | undefined {
  const paragraph = instructions.split(/\n\s*\n/).find(
    (part) =>
      // Upper case, as prose writes the format (`package.json` is a file), and not refused ("not JSON").
      /\b(?:[Aa]nswer|[Rr]eply|[Rr]espond|[Rr]eturn|[Oo]utput)\b[^.]*(?<![.\w])JSON\b|(?<![.\w])JSON (?:object|only)\b/.test(
        part,
      ) && !/\b(?:not|never|no)\b[^.]{0,20}JSON\b/i.test(part),
  );
  if (!paragraph) return undefined;
  const flat = paragraph.replace(/\s+/g, " ");
  const matches = [...flat.matchAll(/`([a-z_][a-z0-9_]*)`([^`]*)/gi)];
  // The text between two fields describes both: "`kind` (one of bug or feature), whether it is
  // `urgent`". What follows its last comma leads into the next field, when it is a few words.
  const parts = matches.map((m, i) => {
    const segment = m[2] ?? "";
    const cut = segment.lastIndexOf(", ");
    const lead = cut >= 0 ? segment.slice(cut + 2) : "";
    return i < matches.length - 1 && cut >= 0 && lead.split(/\s+/).filter(Boolean).length <= 5
      ? { own: segment.slice(0, cut), lead }
      : { own: segment, lead: "" };
  });
  return matches.map((m, i) => {
    const field: JsonField = { name: m[1] ?? "" };
    const after = parts[i]?.own ?? "";
    const said = `${parts[i - 1]?.lead ?? ""} ${after}`;
    const range = /\bfrom (-?\d+) to -?\d+\b/.exec(said);
    if (/\btrue or false\b|\bboolean\b|\byes or no\b/i.test(said)) field.kind = "boolean";
    else if (range || /\b(?:as an? (?:number|integer)|numeric|integer|a count)\b/i.test(said)) {
      field.kind = "number";
      if (range) field.least = Number(range[1]);
    } else if (/\b(?:a list|an array|list of|array of)\b/i.test(after)) field.kind = "list";
    const list = /\b(?:from|one of|either) ((?:[\w-]+, )*[\w-]+,? (?:and|or) [\w-]+)/.exec(after)?.[1];
    if (list && field.kind === undefined) field.choices = list.split(/,? (?:and|or) |, /);
    return field;
  });
}

/** A place the prompt names for files: a directory (`lib/`), a glob (`src/**\/*.ts`) or a file. */
export interface Place {
  /** The directory, with its trailing slash; "" for the repository root. */
  dir: string;
  /** The extension a glob or file name fixes (`.ts`), if any. */
  ext?: string;
  /** A literal file path (`README.md`). */
  file?: string;
  /** A place for tests (`test/`, `tests/`, `**\/*.test.*`). */
  tests: boolean;
}

const PATH_TOKEN = /(?<![\w./-])(`?)((?:[\w.*-]+\/)+(?:[\w*-]+(?:\.[\w*-]+)*)?|[\w*-]*(?:\.[\w*-]+)+)\1/g;
const FILE_EXT = /\.(?:md|txt|[cm]?[jt]sx?|py|go|rs|json|ya?ml|toml|sh|css|html|\*)$/;

/**
 * The places the instructions name for files, in the order they name them. A token counts when it
 * is a path written as code (`lib/util`), ends with a slash (`docs/`), has a glob (`src/**`) or a
 * file extension (`README.md`): "local/repo" from `{{ repo.full_name }}` or "e.g." is not a place.
 */
export function namedPlaces(prompt: string): Place[] {
  const places: Place[] = [];
  for (const m of instructionsOf(prompt).matchAll(PATH_TOKEN)) {
    const token = m[2] ?? "";
    const code = m[1] === "`";
    if (
      !(code && token.includes("/")) &&
      !token.endsWith("/") &&
      !token.includes("*") &&
      !FILE_EXT.test(token)
    )
      continue;
    places.push(placeOf(token));
  }
  return places;
}

function placeOf(token: string): Place {
  const tests =
    /(?:^|\/)(?:tests?|spec|__tests__|testdata|fixtures)\/|\.(?:test|spec)\.|_test\.|(?:^|\/)test_/.test(
      token,
    );
  const beforeGlob = token.split("*")[0] ?? "";
  const place: Place = { dir: beforeGlob.slice(0, beforeGlob.lastIndexOf("/") + 1), tests };
  const last = token.slice(token.lastIndexOf("/") + 1);
  const ext = /(\.[a-z]{1,5})$/.exec(last)?.[1];
  // `*.test.*` fixes a name, not an extension: the language's own follows.
  if (ext) place.ext = ext;
  if (ext && !token.includes("*")) place.file = token;
  return place;
}

/** Whether a phase that changes code is asked to add or update tests as well. */
export function asksForTests(prompt: string): boolean {
  return /\b(?:add|write|update|with|and) (?:a |the |new |its )?(?:unit |regression )?tests?\b/i.test(
    instructionsOf(prompt),
  );
}
