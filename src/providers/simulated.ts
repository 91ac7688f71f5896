import { createHash } from "node:crypto";
import { UNTRUSTED_BLOCK } from "../engine/template-context.js";
import { TIERS, type Tier } from "../pipeline/schema.js";
import { oneLine, slugify } from "../util/text.js";
import {
  type CallPurpose,
  type ModelRequest,
  type ModelResponse,
  offlineResponse,
  type Provider,
} from "./provider.js";

export const SIMULATED_MARK =
  "> Simulated output: produced offline by the `simulated` provider; no model was called.";

/**
 * The offline default. Deterministic for a given call, clearly marked, sized like a real answer,
 * and it reports token usage. Judges score stronger tiers and later attempts higher, so runs show
 * the same shape as real ones: an occasional retry on a cheap tier, a pass after escalation.
 */
export function createSimulatedProvider(): Provider {
  return {
    name: "simulated",
    modelFor: (tier) => `simulated-${tier}`,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      request.signal?.throwIfAborted();
      return offlineResponse("simulated", request, answer(request));
    },
  };
}

function answer(request: ModelRequest): string {
  const purpose = request.purpose;
  if (purpose.kind === "judge") return judgeAnswer(purpose, request.tier);
  if (purpose.output === "files") return JSON.stringify(fileEdit(purpose), null, 2);
  return documentAnswer(purpose, request.prompt);
}

/** A number in [0, 1) fixed by the seed. */
function unit(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

function judgeAnswer(purpose: Extract<CallPurpose, { kind: "judge" }>, tier: Tier): string {
  const jitter = unit(`${purpose.phaseId}/${purpose.attempt}/${purpose.criterion}`) * 0.12;
  const score = Math.min(0.98, 0.7 + 0.08 * TIERS.indexOf(tier) + 0.05 * (purpose.attempt - 1) + jitter);
  const rounded = Math.round(score * 100) / 100;
  const reason =
    rounded >= 0.8
      ? `Meets "${purpose.criterion}" with specific, checkable detail (simulated judgement).`
      : `Partly meets "${purpose.criterion}": some points stay vague (simulated judgement).`;
  return JSON.stringify({ score: rounded, reason });
}

type AgentPurpose = Extract<CallPurpose, { kind: "agent" }>;

function slugOf(title: string): string {
  return slugify(title) || "change";
}

function camel(slug: string): string {
  const name = slug.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return /^[a-z]/.test(name) ? name : `change${name}`;
}

function fileEdit(purpose: AgentPurpose): { summary: string; files: { path: string; content: string }[] } {
  const slug = slugOf(purpose.issue.title);
  const fn = camel(slug);
  const isTests = /test/.test(purpose.phaseId);
  if (isTests) {
    return {
      summary: `Adds tests for ${fn} (simulated).`,
      files: [{ path: `test/${slug}.test.ts`, content: testFile(fn, slug, purpose) }],
    };
  }
  return {
    summary: `${purpose.phaseName}: ${purpose.issue.title} (simulated, attempt ${purpose.attempt}).`,
    files: [{ path: `src/${slug}.ts`, content: sourceFile(fn, purpose) }],
  };
}

function sourceFile(fn: string, purpose: AgentPurpose): string {
  return [
    `// Simulated change for #${purpose.issue.number}: ${oneLine(purpose.issue.title)}`,
    `// Written offline by the simulated provider (phase ${purpose.phaseId}); no model was called.`,
    "",
    `/** Normalises the input the way issue #${purpose.issue.number} asks. */`,
    `export function ${fn}(input: string): string {`,
    '  if (typeof input !== "string") throw new TypeError("input must be a string");',
    purpose.phaseId.includes("fix")
      ? '  return input.trim().replace(/\\s+/g, " ");'
      : "  return input.trim();",
    "}",
    "",
  ].join("\n");
}

function testFile(fn: string, slug: string, purpose: AgentPurpose): string {
  return [
    `// Simulated tests for #${purpose.issue.number}; no model was called.`,
    'import { describe, expect, it } from "vitest";',
    `import { ${fn} } from "../src/${slug}.js";`,
    "",
    `describe("${fn}", () => {`,
    '  it("trims surrounding whitespace", () => {',
    `    expect(${fn}("  a  ")).toBe("a");`,
    "  });",
    "});",
    "",
  ].join("\n");
}

const SECTIONS: Record<AgentPurpose["task"], string[]> = {
  research: ["Summary", "What the issue asks for", "Acceptance criteria", "Out of scope", "Open questions"],
  write: ["Introduction", "The problem", "What we did", "What it means for you", "Next steps"],
  code: ["Summary", "Changes", "Notes"],
  review: ["Verdict", "Findings", "Suggested changes", "What is good"],
  mechanical: ["Revised text"],
};

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

/**
 * What the prompt asks the document to look like, read off its own instructions (never off the
 * untrusted blocks): the headings of a fenced template, item labels such as "F1, F2", fixed lines
 * such as `Verdict: approve`, and status words such as **SUPPORTED**. Real pipelines assert on
 * these shapes, so an offline run follows them the way a capable model would.
 */
interface Shape {
  sections: string[];
  label?: string;
  fixedLines: Map<string, string>;
  status?: string;
}

function readShape(prompt: string, task: AgentPurpose["task"]): Shape {
  const instructions = prompt.replace(UNTRUSTED_BLOCK, "");
  const fences = [...instructions.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] ?? "").join("\n");
  const sections = [...fences.matchAll(/^## (.+)$/gm)].map((m) => (m[1] ?? "").trim());
  const fixedLines = new Map<string, string>();
  for (const m of [
    ...fences.matchAll(/^([A-Z][A-Za-z ]{1,20}): ([a-z][\w -]*)$/gm),
    ...instructions.matchAll(/`([A-Z][A-Za-z ]{1,20}): ([^`]+)`/g),
  ]) {
    const key = m[1] ?? "";
    if (!fixedLines.has(key)) fixedLines.set(key, `${key}: ${m[2]}`);
  }
  const label = /\b([A-Z]{1,3})1, \1 ?2\b/.exec(instructions)?.[1];
  const status = /\*\*([A-Z]{4,})\*\*/.exec(instructions)?.[1];
  const shape: Shape = { sections: sections.length > 0 ? sections : SECTIONS[task], fixedLines };
  if (label) shape.label = label;
  if (status) shape.status = status;
  return shape;
}

function documentAnswer(purpose: AgentPurpose, prompt: string): string {
  const previous = longestPhaseBlock(prompt);
  if ((purpose.task === "mechanical" || /revis/.test(purpose.phaseId)) && previous) {
    return `${SIMULATED_MARK}\n\n${previous.trim()}\n`;
  }
  const shape = readShape(prompt, purpose.task);
  const lines = [`# ${purpose.phaseName}: ${oneLine(purpose.issue.title)}`, "", SIMULATED_MARK, ""];
  const placed = new Set<string>();
  shape.sections.forEach((section, index) => {
    lines.push(`## ${section}`, "");
    for (const [key, line] of shape.fixedLines) {
      if (section.toLowerCase().includes(key.toLowerCase())) {
        lines.push(line, "");
        placed.add(key);
      }
    }
    // About 30 sentences in all, however many sections: the length of a real document.
    const perSection = Math.max(3, Math.ceil(30 / shape.sections.length));
    const count = perSection + Math.floor(unit(`${purpose.phaseId}/${purpose.attempt}/${index}`) * 3);
    for (let i = 0; i < count; i++) {
      const pick = Math.floor(unit(`${purpose.phaseId}/${index}/${i}`) * SENTENCES.length);
      const label =
        shape.label && index === labelledSection(shape) ? `- ${shape.label}${i + 1}:` : `${i + 1}.`;
      lines.push(`${label} ${shape.status ? `${shape.status}: ` : ""}${SENTENCES[pick]}`);
    }
    lines.push("");
  });
  for (const [key, line] of shape.fixedLines) if (!placed.has(key)) lines.push(line, "");
  return lines.join("\n");
}

/** The section that gets labelled items: the one that names the label's list, else the first. */
function labelledSection(shape: Shape): number {
  const index = shape.sections.findIndex((s) => /criteria|facts|findings|claims/i.test(s));
  return index >= 0 ? index : 0;
}

/** The longest earlier phase output in the prompt: the document a revision phase revises. */
function longestPhaseBlock(prompt: string): string | undefined {
  const blocks = [...prompt.matchAll(UNTRUSTED_BLOCK)].filter((m) =>
    /^phases\.[a-z0-9-]+\.output$/.test(m[2] ?? ""),
  );
  const text = blocks.map((m) => m[3] ?? "").sort((a, b) => b.length - a.length)[0];
  return text?.replace(`${SIMULATED_MARK}\n\n`, "");
}
