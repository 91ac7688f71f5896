import picomatch from "picomatch";
import type { FileChange } from "../forge/forge.js";
import { type AssertValue, jsonSchemaOf } from "../pipeline/assert-value.js";
import type { AssertKind } from "../pipeline/schema.js";

/** What an assert looks at: the phase's text output and, for files phases, its changes. */
export interface AssertSubject {
  text: string;
  files?: FileChange[];
  /** Content of the changed files before the phase, so checks can look at what it added. */
  previous?: Record<string, string>;
}

export type { AssertValue };

type AssertCheck = (subject: AssertSubject, value: AssertValue) => { pass: boolean; reason: string };

const PLACEHOLDERS = [
  /\bTODO\b/,
  /\bTBD\b/,
  /lorem ipsum/i,
  /\bas an ai\b/i,
  /\[insert [^\]]*\]/i,
  /\bFIXME\b/,
];

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * The lines a change adds: a TODO the file already had is not this phase's placeholder, and
 * counting it would fail a gate no attempt could pass.
 */
function addedText(file: FileChange, before: string | undefined): string {
  if (!("content" in file)) return "";
  if (before === undefined) return file.content;
  const old = new Set(before.split("\n"));
  return file.content
    .split("\n")
    .filter((line) => !old.has(line))
    .join("\n");
}

/** One check per assert kind: adding a kind to the schema is a compile error until it is here. */
export const ASSERT_CHECKS: Record<AssertKind, AssertCheck> = {
  contains: (subject, value) => {
    const pass = subject.text.includes(String(value));
    return { pass, reason: pass ? `contains "${value}"` : `does not contain "${value}"` };
  },
  regex: (subject, value) => {
    // `$` is the answer's end and `^` its start: a newline after the last line (every file ends
    // with one) or before the first is not part of the answer a pattern is written against.
    const pass = new RegExp(String(value), "u").test(subject.text.trim());
    return { pass, reason: pass ? `matches /${value}/` : `does not match /${value}/` };
  },
  "min-words": (subject, value) => {
    const count = words(subject.text);
    return { pass: count >= Number(value), reason: `${count} words (minimum ${value})` };
  },
  "max-words": (subject, value) => {
    const count = words(subject.text);
    return { pass: count <= Number(value), reason: `${count} words (maximum ${value})` };
  },
  "is-json": (subject) => {
    try {
      JSON.parse(subject.text);
      return { pass: true, reason: "is valid JSON" };
    } catch {
      return { pass: false, reason: "is not valid JSON" };
    }
  },
  "json-schema": (subject, value) => {
    let data: unknown;
    try {
      data = JSON.parse(subject.text);
    } catch {
      return { pass: false, reason: "is not valid JSON" };
    }
    const checked = jsonSchemaOf(value).safeParse(data);
    if (checked.success) return { pass: true, reason: "fits the JSON Schema" };
    const problems = checked.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
    return { pass: false, reason: `does not fit the JSON Schema: ${problems.join("; ")}` };
  },
  "no-placeholders": (subject) => {
    const texts = [
      subject.text,
      ...(subject.files ?? []).map((f) => addedText(f, subject.previous?.[f.path])),
    ];
    const found = PLACEHOLDERS.map((p) => texts.join("\n").match(p)?.[0]).filter(Boolean);
    return {
      pass: found.length === 0,
      reason: found.length ? `placeholder text: ${found.join(", ")}` : "no placeholder text",
    };
  },
  paths: (subject, value) => {
    const allowed = picomatch(Array.isArray(value) ? value : [String(value)], { dot: true });
    const outside = (subject.files ?? []).map((f) => f.path).filter((p) => !allowed(p));
    return {
      pass: outside.length === 0,
      reason: outside.length
        ? `changes outside the allowed paths: ${outside.join(", ")}`
        : "every change is inside the allowed paths",
    };
  },
};

/** Runs an assert, inverting it for a `not-` type. */
export function runAssert(
  type: string,
  value: AssertValue,
  subject: AssertSubject,
): { pass: boolean; reason: string } {
  const negated = type.startsWith("not-");
  const kind = (negated ? type.slice(4) : type) as AssertKind;
  const result = ASSERT_CHECKS[kind](subject, value);
  return negated ? { pass: !result.pass, reason: `not: ${result.reason}` } : result;
}
