import type { TemplateVariable } from "./templates.js";

/** Variables whose text comes from outside the repository: sealed from templates when rendered. */
export function isUntrusted(segments: readonly string[]): boolean {
  const [root, field, sub] = segments;
  if (root === "phases") return sub === "output";
  return root === "issue" && field !== undefined && UNTRUSTED_ISSUE_FIELDS.has(field);
}

const UNTRUSTED_ISSUE_FIELDS = new Set(["title", "body", "author", "labels", "url"]);

/**
 * Uses of an untrusted variable other than a bare output `{{ issue.body }}`. A template sees such
 * a value only as a sealed placeholder (template-context.ts `renderPrompt`), so a filter, a
 * comparison or a loop over it reads the placeholder, not the text: refused here, where the
 * author can be told the line. The render itself still checks every placeholder arrives intact.
 * This is an allowlist of one shape, not a list of forbidden filters.
 */
export function untrustedUses(text: string, variables: readonly TemplateVariable[]): TemplateVariable[] {
  const bare = barePositions(text);
  return variables.filter(
    (variable) => isUntrusted(variable.segments) && !bare.has(`${variable.row}:${variable.col}`),
  );
}

/** `row:col` of every variable that is the whole of an output tag, whitespace control allowed. */
function barePositions(text: string): Set<string> {
  const positions = new Set<string>();
  // Matches come in order, so rows are counted once over the text (validate stays linear).
  let row = 1;
  let lineStart = 0;
  let scanned = 0;
  for (const match of text.matchAll(/\{\{-?\s*([A-Za-z_][\w.-]*?)\s*-?\}\}/g)) {
    const start = match.index + match[0].indexOf(match[1] as string);
    for (; scanned < start; scanned++) {
      if (text[scanned] === "\n") {
        row++;
        lineStart = scanned + 1;
      }
    }
    positions.add(`${row}:${start - lineStart + 1}`);
  }
  return positions;
}
