import { createHash } from "node:crypto";
import { TIERS, type Tier } from "../pipeline/schema.js";
import {
  type CallPurpose,
  estimateTokens,
  type ModelRequest,
  type ModelResponse,
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
      const text = answer(request);
      return {
        text,
        provider: "simulated",
        model: `simulated-${request.tier}`,
        simulated: true,
        usage: {
          inputTokens: estimateTokens(request.system) + estimateTokens(request.prompt),
          outputTokens: estimateTokens(text),
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
        },
      };
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
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40)
      .replace(/-+$/, "") || "change"
  );
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

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 100);
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

function documentAnswer(purpose: AgentPurpose, prompt: string): string {
  const previous = lastPhaseBlock(prompt);
  if ((purpose.task === "mechanical" || /revis/.test(purpose.phaseId)) && previous) {
    return `${SIMULATED_MARK}\n\n${previous.trim()}\n`;
  }
  const lines = [`# ${purpose.phaseName}: ${oneLine(purpose.issue.title)}`, "", SIMULATED_MARK, ""];
  SECTIONS[purpose.task].forEach((section, index) => {
    lines.push(`## ${section}`, "");
    // The shapes real pipelines check for: numbered acceptance criteria, an explicit verdict.
    if (section === "Verdict") lines.push("Verdict: approve", "", "Risk: low", "");
    const label =
      section === "Acceptance criteria" ? (i: number) => `- AC${i + 1}:` : (i: number) => `${i + 1}.`;
    const count = 3 + Math.floor(unit(`${purpose.phaseId}/${purpose.attempt}/${index}`) * 3);
    for (let i = 0; i < count; i++) {
      const pick = Math.floor(unit(`${purpose.phaseId}/${index}/${i}`) * SENTENCES.length);
      lines.push(`${label(i)} ${SENTENCES[pick]}`);
    }
    lines.push("");
  });
  return lines.join("\n");
}

/** The last earlier phase's output in the prompt, so a revision phase revises it. */
function lastPhaseBlock(prompt: string): string | undefined {
  const blocks = [
    ...prompt.matchAll(/<untrusted source="phases\.[a-z0-9-]+\.output">\n([\s\S]*?)\n<\/untrusted>/g),
  ];
  const text = blocks.at(-1)?.[1];
  return text?.replace(`${SIMULATED_MARK}\n\n`, "");
}
