import type { HeldOut } from "../engine/holdout-context.js";
import type { GateResult, GatesVerdict } from "../engine/types.js";
import type { ResolvedAgentPhase } from "../pipeline/resolved.js";
import type { AttemptRecord } from "../store/runs.js";
import { cell, formatCost, formatTokens } from "./format.js";
import { quietMarkdown } from "./quiet-markdown.js";

/** Lines past which an artifact is folded so the PR stays readable. */
const FOLD_LINES = 30;

export interface PhaseCommentInput {
  phase: ResolvedAgentPhase;
  /** Every attempt of the phase, the last one being the one this comment is about. */
  attempts: AttemptRecord[];
  artifactPath?: string;
  output?: string;
  failure?: string;
  commit?: string;
  /** Repository files the phase asked for and the agent was not given (holdout), with why. */
  heldOut?: HeldOut[];
}

/** Held-out files named in a comment before the rest are counted. */
const HELD_OUT_SHOWN = 10;

/** The comment a phase posts: outcome, scores per criterion, earlier attempts, artifact. */
export function renderPhaseComment(input: PhaseCommentInput): string {
  const last = input.attempts.at(-1);
  const verdict = last?.scores as GatesVerdict | undefined;
  const icon = input.failure ? "❌" : "✅";
  const lines = [`### ${icon} ${input.phase.name} (\`${input.phase.id}\`, ${input.phase.task})`, ""];
  const facts = [
    input.failure ? "**Failed**" : "**Passed**",
    `attempt ${last?.attempt ?? 1}`,
    `tier ${last?.tier ?? input.phase.tier}`,
    `model ${last?.provider ?? "?"}/${last?.model ?? "?"}`,
    `${formatTokens((last?.tokensIn ?? 0) + (last?.tokensOut ?? 0))} tokens`,
    formatCost(last?.costUsd ?? 0),
  ];
  if (input.commit) facts.push(`commit ${input.commit.slice(0, 7)}`);
  lines.push(facts.join(" · "), "");
  if (input.failure) lines.push(`> ${quietMarkdown(input.failure.replace(/\n/g, " "))}`, "");
  if (input.heldOut && input.heldOut.length > 0) lines.push(renderHeldOut(input.heldOut), "");
  if (verdict) lines.push(...renderVerdict(verdict));
  const earlier = input.attempts.slice(0, -1);
  if (earlier.length > 0) lines.push(...renderEarlier(earlier));
  if (input.output !== undefined) lines.push(...renderArtifact(input.output, input.artifactPath));
  return `${lines.join("\n").trimEnd()}\n`;
}

/**
 * One line: the files left out of the agent's context so it never reads what it is graded by
 * (issue 12). Paths come from the repository: quieted, and kept in code spans they cannot close.
 */
function renderHeldOut(heldOut: HeldOut[]): string {
  const shown = heldOut.slice(0, HELD_OUT_SHOWN).map((file) => {
    const path = quietMarkdown(file.path.replace(/[`\n]/g, "?"));
    return `\`${path}\` (${quietMarkdown(file.reason.replace(/^holdout: /, ""))})`;
  });
  const more = heldOut.length - shown.length;
  if (more > 0) shown.push(`and ${more} more`);
  return `Left out of the agent's context (holdout): ${shown.join(", ")}`;
}

export function renderVerdict(verdict: GatesVerdict): string[] {
  const lines: string[] = [];
  for (const result of verdict.results) lines.push(...renderGate(result));
  return lines;
}

function renderGate(result: GateResult): string[] {
  if (!result.details) {
    return [
      // A checks gate's reasons quote check titles written by other apps: untrusted.
      `- ${result.pass ? "✅" : "❌"} \`${result.gate}\`: ${quietMarkdown((result.error ?? result.reasons.join("; ")).replace(/\n/g, " "))}`,
      "",
    ];
  }
  const { details } = result;
  const rows = details.criteria.map(
    (c) =>
      `| ${cell(c.name)} | ${c.weight} | ${c.score.toFixed(2)} | ${c.floor === undefined ? "—" : c.floor.toFixed(2)} | ${c.pass ? "✅" : "❌"} |`,
  );
  const reasons = details.criteria.map(
    (c) => `- **${cell(c.name)}**: ${quietMarkdown(c.reason.replace(/\n/g, " "))}`,
  );
  return [
    "| Criterion | Weight | Score | Floor | Pass |",
    "| --- | ---: | ---: | ---: | :---: |",
    ...rows,
    "",
    `**Weighted score ${result.score.toFixed(2)}** against threshold ${details.threshold.toFixed(2)}: ${result.pass ? "passed" : "failed"} · judged by ${details.model}`,
    "",
    "<details><summary>Judge's reasons</summary>",
    "",
    ...reasons,
    "",
    "</details>",
    "",
  ];
}

function renderEarlier(attempts: AttemptRecord[]): string[] {
  const rows = attempts.map((a) => {
    const verdict = a.scores as GatesVerdict | undefined;
    const score = verdict?.results.find((r) => r.details)?.score;
    const why = a.error ?? verdict?.results.filter((r) => !r.pass).flatMap((r) => r.reasons)[0] ?? "";
    return `| ${a.attempt} | ${a.tier ?? "?"} | ${score === undefined ? "—" : score.toFixed(2)} | ${cell(quietMarkdown(why.slice(0, 160)))} |`;
  });
  return [
    "Earlier attempts:",
    "",
    "| Attempt | Tier | Score | Why it did not pass |",
    "| ---: | --- | ---: | --- |",
    ...rows,
    "",
  ];
}

function renderArtifact(raw: string, path: string | undefined): string[] {
  const output = quietMarkdown(raw);
  const title = path ? `Artifact: \`${path}\`` : "Output";
  const lineCount = output.split("\n").length;
  if (lineCount <= FOLD_LINES) return [`**${title}**`, "", output.trim(), ""];
  return [
    `<details><summary>${title} (${lineCount} lines)</summary>`,
    "",
    output.trim(),
    "",
    "</details>",
    "",
  ];
}
