import { extname } from "node:path";
import { z } from "zod";
import type { IssueInput } from "../engine/template-context.js";
import { formatProblem, type Problem } from "../pipeline/problem.js";
import { readInputFile } from "../pipeline/read-input.js";
import { suggest } from "../pipeline/template-variables.js";
import { parseYamlInput } from "../pipeline/yaml-input.js";
import { slugify } from "../util/text.js";

const IssueSchema = z.strictObject({
  number: z
    .number()
    .int("must be a whole number")
    .positive("must be 1 or more")
    .optional()
    .describe("Issue number; names the branch. Without it, the run takes the next free local number."),
  title: z.string().trim().min(1, "the issue needs a title"),
  body: z.string().default(""),
  labels: z.array(z.string()).default([]),
  author: z.string().default("local"),
  url: z.string().default(""),
});
const FIELDS = Object.keys(IssueSchema.shape);

const JSON_SHAPE = 'must be a JSON object such as {"number": 1, "title": "...", "body": "..."}';

/** An issue as its file gives it: the number may be left out (see {@link withIssueNumber}). */
export type IssueFileInput = Omit<IssueInput, "number"> & { number?: number };

/**
 * Reads an issue for a local run: JSON with the fields above, or Markdown whose first `# ` heading
 * is the title, with optional YAML front matter for number, labels and author. Every error names
 * the file (and the line and column, where there is one) and says what to change.
 */
export function readIssueFile(file: string): IssueFileInput {
  const text = readIssueText(file);
  const raw = extname(file).toLowerCase() === ".json" ? parseJson(text, file) : parseMarkdown(text, file);
  const parsed = IssueSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((issue) => describeIssue(issue, raw)).join("; ")}`);
  }
  const { number, ...rest } = parsed.data;
  return number === undefined ? rest : { ...rest, number };
}

/**
 * The issue with its number. A file without one used to become #1 silently, so two such files
 * shared one issue (issue 12): it now takes `nextFree`, the number after the highest one local
 * runs of the repository used, and `note` says so and how to keep a number of one's own.
 */
export function withIssueNumber(
  issue: IssueFileInput,
  file: string,
  nextFree: number,
  note: (line: string) => void,
): IssueInput {
  if (issue.number !== undefined) return { ...issue, number: issue.number };
  note(
    `${file} has no issue number: using #${nextFree}, the next free local number (add \`number: ${nextFree}\` front matter, or "number" in JSON, to keep one)`,
  );
  return { ...issue, number: nextFree };
}

/** The file's text; a missing file, a directory, binary bytes or a huge file is the error. */
function readIssueText(file: string): string {
  const read = readInputFile(file);
  if (read.ok) return read.text;
  const { message } = read.problem;
  const reason = message.replace(/^cannot read: /, "");
  if (reason !== message) {
    throw new Error(
      `cannot read issue file ${file}: ${reason}; give --issue a Markdown (.md) or JSON (.json) file`,
    );
  }
  throw new Error(`${formatProblem(read.problem)}; give --issue a Markdown (.md) or JSON (.json) file`);
}

function parseJson(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    // V8 says where as a character offset ("at position 12"); editors want a line and column.
    const offset = /at position (\d+)/.exec(message)?.[1];
    const where = offset === undefined ? file : `${file}:${positionIn(text, Number(offset))}`;
    throw new Error(`${where}: not valid JSON: ${message}`);
  }
  if (!isRecord(value)) throw new Error(`${file}: ${JSON_SHAPE}, got ${kindOf(value)}`);
  return value;
}

function positionIn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `${line}:${offset - before.lastIndexOf("\n")}`;
}

function parseMarkdown(text: string, file: string): Record<string, unknown> {
  let rest = text.replace(/^\uFEFF/, "");
  let front: Record<string, unknown> = {};
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(rest);
  if (match) {
    front = parseFrontMatter(match[1] ?? "", file);
    rest = rest.slice(match[0].length);
  }
  const heading = /^#[ \t]+(.+)$/m.exec(rest);
  const title = heading?.[1]?.trim();
  if (!title && front.title === undefined) {
    throw new Error(`${file}: no "# Title" heading found; the first "# " line is the issue's title`);
  }
  const body = heading ? rest.slice((heading.index ?? 0) + heading[0].length) : rest;
  return { ...front, ...(title ? { title } : {}), body: body.trim() };
}

function parseFrontMatter(source: string, file: string): Record<string, unknown> {
  // The leading newline stands in for the opening `---`, so YAML's line numbers are the file's.
  const input = parseYamlInput(`\n${source}`, file);
  if (!input.ok) {
    const first = input.problems[0] as Problem;
    throw new Error(`${formatProblem(first)}; fix the YAML front matter between the --- lines`);
  }
  const value = input.value;
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) {
    throw new Error(
      `${file}: front matter must be a mapping (number:, labels:, author:), got ${kindOf(value)}`,
    );
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `unknown field "${key}"${suggest(key, FIELDS)}`).join("; ");
  }
  const field = issue.path.join(".");
  const value = raw[String(issue.path[0])];
  if (issue.code === "invalid_type" && value === undefined) {
    return `missing required field "${field}"`;
  }
  // YAML's .nan and .inf, or JSON's 1e999: zod's own words are "expected number, received NaN".
  if (typeof value === "number" && !Number.isFinite(value)) return `${field}: expected a finite number`;
  return `${field || "issue"}: ${issue.message}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

/** Most characters of the title's part of a branch name. */
const SLUG_MAX = 40;

/**
 * `atomic-scrum/<number>-<slug>` (`<number>-<pipeline>-<slug>` when `pipeline` is given): readable,
 * and safe as a git ref whatever the title says. A long title is cut after its last whole word
 * that fits, not in the middle of one.
 */
export function branchFor(issue: IssueInput, pipeline?: string): string {
  const slug = wholeWords(slugify(issue.title, 200), SLUG_MAX) || "issue";
  const prefix = pipeline ? `${issue.number}-${slugify(pipeline, 20) || "pipeline"}` : `${issue.number}`;
  return `atomic-scrum/${prefix}-${slug}`;
}

/** The words of a dash-joined slug that fit in `max` characters; a first word longer is cut. */
function wholeWords(slug: string, max: number): string {
  if (slug.length <= max) return slug;
  const cut = slug.slice(0, max + 1);
  const end = cut.lastIndexOf("-");
  return end > 0 ? cut.slice(0, end) : slug.slice(0, max);
}

/**
 * The branch for a new run on `issue`: {@link branchFor}, or with `-2`, `-3`... when an earlier run
 * used that name. Every run gets a branch of its own, so a run started after one was cancelled
 * (its pull request closed, say) does not build on the old run's commits. `pipeline` is named in
 * the branch when another pipeline's run works the same issue.
 */
export function freshBranchFor(
  issue: IssueInput,
  used: (branch: string) => boolean,
  pipeline?: string,
): string {
  const base = branchFor(issue, pipeline);
  let branch = base;
  for (let n = 2; used(branch); n++) branch = `${base}-${n}`;
  return branch;
}
