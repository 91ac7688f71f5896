import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

// Issue 12: the README linked to a design file outside the repository and gave a schema URL on a
// domain that does not exist. Every relative link of README.md and docs/*.md must name a file of
// the repository (and a `#fragment` a heading in it), and no URL may name that domain.

const ROOT = resolve(import.meta.dirname, "../..");
const DOCS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
/** Domains that do not exist: nothing may be fetched or opened there. */
const DEAD_DOMAINS = ["atomic-scrum.dev"];

/** The text outside fenced code blocks and code spans: where Markdown links and headings are. */
function prose(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) {
      fence = fence ? undefined : marker;
      lines.push("");
      continue;
    }
    lines.push(fence ? "" : line.replace(/`[^`]*`/g, "``"));
  }
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, -1 on repeats. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const line of text.split("\n")) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) fence = !fence;
    const heading = fence ? undefined : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const plain = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/[`*]/g, "")
      .toLowerCase();
    const slug = plain.replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, "").replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

interface Link {
  doc: string;
  line: number;
  target: string;
}

/** Inline links `[text](target)` and reference definitions `[name]: target`, outside code. */
function links(doc: string): Link[] {
  const out: Link[] = [];
  prose(readFileSync(join(ROOT, doc), "utf8")).forEach((text, index) => {
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ doc, line: index + 1, target: match[1] as string });
    }
    const reference = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (reference) out.push({ doc, line: index + 1, target: reference[1] as string });
  });
  return out;
}

/** What is wrong with a relative link, or nothing. */
function problem({ doc, target }: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // absolute: checked below
  const [path = "", fragment] = target.split("#");
  const file = path === "" ? join(ROOT, doc) : resolve(ROOT, dirname(doc), decodeURIComponent(path));
  const inside = relative(ROOT, file);
  if (inside.startsWith(`..${sep}`) || inside === "..") return "points outside the repository";
  if (!existsSync(file)) return "names no file";
  if (fragment === undefined) return undefined;
  if (!file.endsWith(".md")) return `has a #fragment on a file that is not Markdown`;
  if (!anchors(readFileSync(file, "utf8")).has(fragment)) return `#${fragment}: no such heading`;
  return undefined;
}

describe("links in README.md and docs/*.md", () => {
  it("finds links and anchors the way GitHub renders them", () => {
    const sample =
      "# Atomic Scrum\n## What a retry is told: `on_fail.feedback`\n## Try it: two commands\n## Try it: two commands\n";
    expect([...anchors(sample)]).toEqual([
      "atomic-scrum",
      "what-a-retry-is-told-on_failfeedback",
      "try-it-two-commands",
      "try-it-two-commands-1",
    ]);
    expect(links("README.md").length).toBeGreaterThan(10);
    expect(problem({ doc: "README.md", line: 1, target: "../shared/ARCHITECTURE.md" })).toBe(
      "points outside the repository",
    );
    expect(problem({ doc: "docs/gates.md", line: 1, target: "../README.md#no-such-part" })).toBe(
      "#no-such-part: no such heading",
    );
    expect(problem({ doc: "docs/gates.md", line: 1, target: "pipelines.md#editor-support" })).toBeUndefined();
  });

  it("every relative link names a file in the repository, and every #fragment a heading in it", () => {
    const broken = DOCS.flatMap(links).flatMap((link) => {
      const why = problem(link);
      return why ? [`${link.doc}:${link.line}: (${link.target}) ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it("no URL, in prose or in an example, names a domain that does not exist", () => {
    const dead = DOCS.flatMap((doc) =>
      readFileSync(join(ROOT, doc), "utf8")
        .split("\n")
        .flatMap((text, index) =>
          DEAD_DOMAINS.filter((domain) => text.includes(domain)).map(
            (domain) => `${doc}:${index + 1}: ${domain}`,
          ),
        ),
    );
    expect(dead).toEqual([]);
  });
});
