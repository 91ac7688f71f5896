import { askedLength, mostWords } from "./asked-length.js";
import type { AssertValue } from "./assert-value.js";
import type { ResolvedAgentPhase } from "./resolved.js";
import type { AssertKind } from "./schema.js";

/**
 * Says what an assert needs the prompt to tell the agent, when the prompt does not: undefined
 * when the prompt tells it, or when a capable model meets the assert unasked. `prompt` is the
 * template with its tags removed: what the author wrote, not the issue.
 */
type Telling = (prompt: string, value: AssertValue) => string | undefined;

const HOLDOUT = "an assert is a requirement the agent must be told; only judge rubrics are held out";

/**
 * One rule per assert kind: adding a kind is a compile error until it says whether it must be told.
 * A negated assert forbids something a good answer does not do anyway (a stock phrase, a TODO, a
 * JSON answer where prose was asked), so only the word limits it sets need telling.
 */
const TOLD: Record<AssertKind, Telling> = {
  contains: (prompt, value) =>
    prompt.includes(String(value))
      ? undefined
      : `the prompt never shows the text "${value}" the answer must contain: tell the agent to write it`,
  regex: (prompt, value) =>
    examples(prompt).some((text) => new RegExp(String(value), "u").test(text))
      ? undefined
      : `nothing in the prompt matches /${value}/: show the agent the line it must write (e.g. one the pattern matches)`,
  "min-words": (prompt, value) => minTold(prompt, Number(value)),
  "max-words": (prompt, value) => maxTold(prompt, Number(value)),
  "is-json": (prompt) =>
    /\bJSON\b/.test(prompt)
      ? undefined
      : "the prompt never asks for JSON: tell the agent to answer with JSON only",
  "json-schema": (prompt, value) => {
    if (!/\bJSON\b/.test(prompt))
      return "the prompt never asks for JSON: tell the agent to answer with JSON and name its fields";
    const required = requiredFields(value).filter((field) => !prompt.includes(field));
    return required.length === 0
      ? undefined
      : `the prompt never names the required field(s) ${required.map((f) => `"${f}"`).join(", ")}: name each field the answer must have`;
  },
  // A capable model leaves no TODO or lorem ipsum unasked.
  "no-placeholders": () => undefined,
  paths: (prompt, value) => {
    const globs = Array.isArray(value) ? value : [String(value)];
    if (globs.some((glob) => prompt.includes(placeOf(glob)))) return undefined;
    return `the prompt names none of the places the paths assert allows (${globs.join(", ")}): tell the agent where it may write, e.g. "change only files under ${placeOf(globs[0] ?? "")}"`;
  },
};

/**
 * The texts of a prompt a regex assert may be shown in: the prompt, each of its lines, and each
 * quoted or `backticked` span. The assert tests the whole answer, so `^` is the answer's start and
 * `$` its end; the example line the author shows is never the prompt's own start or end.
 */
function examples(prompt: string): string[] {
  const lines = prompt.split("\n").flatMap((line) => [line, line.trim()]);
  const quoted = [...prompt.matchAll(/`([^`\n]+)`|"([^"\n]+)"|“([^”\n]+)”/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? "",
  );
  return [prompt, ...lines, ...quoted];
}

/** What a prompt must mention for a glob to be named: its first literal part (`src/`, `README.md`, `.test.`). */
function placeOf(glob: string): string {
  return (
    glob
      .split("*")
      .map((part) => part.replace(/^\/+/, ""))
      .find((part) => part.length >= 2) ?? glob
  );
}

function requiredFields(value: AssertValue): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  const required = (value as { required?: unknown }).required;
  return Array.isArray(required)
    ? required.filter((field): field is string => typeof field === "string")
    : [];
}

function minTold(prompt: string, value: number): string | undefined {
  const asked = askedLength(prompt).minWords;
  if (asked !== undefined && asked >= value) return undefined;
  return asked === undefined
    ? `the prompt never asks for at least ${value} words: say so ("at least ${value} words")`
    : `the prompt asks for at least ${asked} words, the assert for at least ${value}: ask for ${value}`;
}

function maxTold(prompt: string, value: number): string | undefined {
  const asked = mostWords(askedLength(prompt));
  if (asked !== undefined && asked <= value) return undefined;
  return asked === undefined
    ? `the prompt sets no length, and the assert allows at most ${value} words: say so ("at most ${value} words")`
    : `the prompt allows about ${asked} words, the assert at most ${value}: ask for at most ${value}`;
}

/**
 * The asserts of a phase that its prompt never tells the agent about, each with the gate it is
 * (`gates[i].assert`) and what to tell. `text` is the prompt as its author wrote it, tags removed.
 */
export function untoldAsserts(phase: ResolvedAgentPhase, text: string): { field: string; message: string }[] {
  const found: { field: string; message: string }[] = [];
  for (const [index, gate] of phase.gates.entries()) {
    if (!("assert" in gate)) continue;
    const { type, value } = gate.assert;
    const negated = type.startsWith("not-");
    const kind = (negated ? type.slice(4) : type) as AssertKind;
    let missing: string | undefined;
    if (!negated) missing = TOLD[kind](text, value);
    // not-min-words N is at most N - 1 words; not-max-words N at least N + 1.
    else if (kind === "min-words") missing = maxTold(text, Number(value) - 1);
    else if (kind === "max-words") missing = minTold(text, Number(value) + 1);
    const name = typeof value === "number" ? `${type} ${value}` : type;
    if (missing) found.push({ field: `gates[${index}].assert`, message: `${name}: ${missing}; ${HOLDOUT}` });
  }
  return found;
}
