import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import type { IssueInput } from "../engine/template-context.js";

const IssueSchema = z.strictObject({
  number: z.number().int().positive().default(1).describe("Issue number; names the branch."),
  title: z.string().trim().min(1, "the issue needs a title"),
  body: z.string().default(""),
  labels: z.array(z.string()).default([]),
  author: z.string().default("local"),
  url: z.string().default(""),
});

/**
 * Reads an issue for a local run: JSON with the fields above, or Markdown whose first `# ` heading
 * is the title, with optional YAML front matter for number, labels and author.
 */
export function readIssueFile(file: string): IssueInput {
  const text = readFileSync(file, "utf8");
  const raw = extname(file).toLowerCase() === ".json" ? parseJson(text, file) : parseMarkdown(text);
  const parsed = IssueSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "issue"}: ${i.message}`);
    throw new Error(`${file}: ${problems.join("; ")}`);
  }
  return parsed.data;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
}

function parseMarkdown(text: string): Record<string, unknown> {
  let rest = text.replace(/^\uFEFF/, "");
  let front: Record<string, unknown> = {};
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(rest);
  if (match) {
    const parsed: unknown = parse(match[1] ?? "");
    if (parsed && typeof parsed === "object") front = parsed as Record<string, unknown>;
    rest = rest.slice(match[0].length);
  }
  const heading = /^#[ \t]+(.+)$/m.exec(rest);
  const title = heading?.[1]?.trim();
  const body = heading ? rest.slice((heading.index ?? 0) + heading[0].length) : rest;
  return { ...front, ...(title ? { title } : {}), body: body.trim() };
}

/** `atomic-scrum/<number>-<slug>`: readable, and safe as a git ref whatever the title says. */
export function branchFor(issue: IssueInput): string {
  const slug = issue.title
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // accents go, letters stay: "Évil" -> "evil"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return `atomic-scrum/${issue.number}-${slug || "issue"}`;
}
