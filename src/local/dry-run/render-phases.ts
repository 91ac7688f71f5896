import { type HeldOut, holdOutContext } from "../../engine/holdout-context.js";
import { holdoutViolation } from "../../engine/holdout-violation.js";
import {
  type ContextInput,
  type RepoInput,
  renderPath,
  renderPrompt,
  untrusted,
} from "../../engine/template-context.js";
import { agentSystemPrompt, agentUserPrompt } from "../../executors/llm.js";
import type { ContextFiles } from "../../forge/forge.js";
import { checkWritablePath } from "../../forge/paths.js";
import { JUDGE_SYSTEM } from "../../judge/judge-gate.js";
import type { ResolvedAgentPhase } from "../../pipeline/resolved.js";
import type { JudgeGate, Tier } from "../../pipeline/schema.js";
import { estimateTokens } from "../../providers/provider.js";
import { ARTIFACT_TOKENS, FILES_TOKENS } from "./assumptions.js";
import type { AgentPlan, DryRunOptions, PhasePlan } from "./report.js";

// Rendering: every prompt, artifact path and rubric, exactly as the worker builds them.

/** An agent phase, rendered against the issue and the repository: its token counts, not yet priced. */
export interface RenderedAgent {
  kind: "agent";
  phase: ResolvedAgentPhase;
  tokens: { system: number; context: number; prompt: number; output: number };
  /** `heldOut`: the files left out for holdout, also counted in `omitted`. */
  context: { files: number; omitted: number; heldOut: HeldOut[]; note?: string };
  /** Per judge gate: its tier, samples, and the input tokens of each criterion's call. */
  judges: { tier: Tier; samples: number; provider?: string; model?: string; inputs: number[] }[];
}

export type Rendered = RenderedAgent | Exclude<PhasePlan, AgentPlan>;

/**
 * Reads the files a phase's `context` globs match, with the run's limits: the local forge on the
 * checked-out branch for the CLI, the GitHub forge on the default branch for `/dry-run`.
 */
export type ContextReader = (globs: string[]) => Promise<ContextFiles>;

/** Thrown by a reader that cannot read at all; its message is the report's note as it stands. */
export class NoContext extends Error {}

/**
 * Renders each phase in order, earlier outputs standing in as placeholders of their assumed size.
 * A template that does not render, a refused artifact path or a rubric showing through a prompt is
 * a problem (the real run would stop there), not an exception.
 */
export async function renderPhases(
  options: Pick<DryRunOptions, "pipeline" | "issue">,
  repoInput: RepoInput,
  readFiles: ContextReader,
): Promise<{ phases: Rendered[]; problems: string[] }> {
  const { pipeline, issue } = options;
  const problems: string[] = [];
  const outputs: Record<string, string> = {};
  const contexts = new Map<string, ReturnType<typeof readPhaseContext>>();
  const phases: Rendered[] = [];
  for (const phase of pipeline.phases) {
    if (phase.kind === "wait") {
      phases.push({ kind: "wait", id: phase.id, wait: phase.wait });
      continue;
    }
    if (phase.kind === "approval") {
      phases.push({ kind: "approval", id: phase.id, minApprovals: phase.minApprovals });
      continue;
    }
    const input: ContextInput = {
      issue,
      repo: repoInput,
      pipeline,
      outputs: { ...outputs },
      phase: { id: phase.id, name: phase.name },
    };
    const attempt = <T>(field: string, render: () => T, fallback: T): T => {
      try {
        return render();
      } catch (error) {
        problems.push(`${phase.id}.${field}: ${(error as Error).message}`);
        return fallback;
      }
    };
    const renderedPrompt = attempt("prompt", () => renderPrompt(phase.prompt, input), "");
    if ("artifact" in phase.output) {
      const artifact = phase.output.artifact;
      attempt("output.artifact", () => checkWritablePath(renderPath(artifact, input).trim()), "");
    }
    const key = JSON.stringify(phase.context);
    const read = contexts.get(key) ?? readPhaseContext(readFiles, phase.context, pipeline);
    contexts.set(key, read);
    const context = await read;
    const system = agentSystemPrompt(phase, issue.number, `${repoInput.owner}/${repoInput.name}`);
    const user = agentUserPrompt({ rendered: renderedPrompt, context: context.files });
    const violation = holdoutViolation({ system, ...user }, pipeline, phase.id);
    if (violation)
      problems.push(`${phase.id}.prompt: holdout violated: ${violation}; the run would stop here`);
    const output = outputTokens(phase);
    const own = placeholder(phase.id, output);
    const judgeInput = { ...input, outputs: { ...outputs, [phase.id]: own } };
    const judges = phase.gates.flatMap((gate, gateIndex) => {
      if (!("judge" in gate)) return [];
      const inputs = gate.judge.criteria.map((criterion, index) => {
        const rubric = attempt(
          `gates[${gateIndex}].judge.criteria[${index}].rubric`,
          () => renderPrompt(criterion.rubric, judgeInput),
          "",
        );
        const prompt = [
          `## Criterion: ${criterion.name}`,
          rubric,
          "## The work",
          untrusted(`phases.${phase.id}.output`, own),
        ].join("\n\n");
        return estimateTokens(JUDGE_SYSTEM) + estimateTokens(prompt);
      });
      return [
        {
          tier: gate.judge.tier ?? "deep",
          samples: samplesOf(gate.judge),
          ...judgeChoice(gate.judge),
          inputs,
        },
      ];
    });
    outputs[phase.id] = own;
    phases.push({
      kind: "agent",
      phase,
      tokens: {
        system: estimateTokens(system),
        context: estimateTokens(user.context ?? ""),
        prompt: estimateTokens(user.prompt),
        output,
      },
      context: {
        files: context.files.files.length,
        omitted: context.files.omitted.length,
        heldOut: context.heldOut,
        ...(context.note ? { note: context.note } : {}),
      },
      judges,
    });
  }
  return { phases, problems };
}

/**
 * The provider and model a judge pins, if any. Read defensively: judges choosing their own model
 * are new in the schema, and a judge naming none is priced on the run's provider (a server with a
 * key for another model family may judge there instead; the dry run reads no keys).
 */
function judgeChoice(judge: JudgeGate["judge"]): { provider?: string; model?: string } {
  const { provider, model } = judge as { provider?: unknown; model?: unknown };
  return {
    ...(typeof provider === "string" ? { provider } : {}),
    ...(typeof model === "string" ? { model } : {}),
  };
}

/** Judge calls per criterion: one, unless the judge asks for several samples. */
function samplesOf(judge: JudgeGate["judge"]): number {
  const samples = "samples" in judge ? judge.samples : undefined;
  return typeof samples === "number" && Number.isInteger(samples) && samples > 0 ? samples : 1;
}

function outputTokens(phase: ResolvedAgentPhase): number {
  return "files" in phase.output ? FILES_TOKENS : ARTIFACT_TOKENS[phase.task];
}

/** Stands in for an earlier phase's output: neutral words of the assumed size (4 characters a token). */
function placeholder(id: string, tokens: number): string {
  const head = `[dry run: stands in for the output of phase ${id}, about ${tokens} tokens]`;
  const text = `${head} ${"filler ".repeat(tokens)}`;
  return text.slice(0, tokens * 4);
}

/**
 * The files a phase's globs match, less those the worker would hold out (pipeline files, files
 * quoting a rubric); a reader that fails leaves a note, not an exception.
 */
async function readPhaseContext(
  readFiles: ContextReader,
  globs: string[],
  pipeline: DryRunOptions["pipeline"],
): Promise<{ files: ContextFiles; heldOut: HeldOut[]; note?: string }> {
  const none: ContextFiles = { files: [], omitted: [] };
  if (globs.length === 0) return { files: none, heldOut: [] };
  let read: ContextFiles;
  try {
    read = await readFiles(globs);
  } catch (error) {
    if (error instanceof NoContext) return { files: none, heldOut: [], note: error.message };
    return { files: none, heldOut: [], note: `no repository files were read: ${(error as Error).message}` };
  }
  const { context, heldOut } = holdOutContext(read, pipeline);
  return { files: context, heldOut };
}
