import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { leakIn, rubricIndex } from "./holdout.js";
import { UNTRUSTED_BLOCK, untrustedBlocks } from "./template-context.js";

/** The three texts of an agent call, as they are sent. */
export interface AgentCallText {
  system: string;
  context?: string | undefined;
  prompt: string;
}

/**
 * Why an agent call breaks the holdout, naming where the rubric came from, or undefined when no
 * rubric shows through it. Context files that quote a rubric are left out before this point
 * (`holdOutContext`); what is left cannot be: the prompt template, the issue, an earlier phase's
 * output, the system text. Those stop the run, and the reason says which one to fix.
 */
export function holdoutViolation(
  call: AgentCallText,
  pipeline: ResolvedPipeline,
  phaseId: string,
): string | undefined {
  const rubrics = rubricIndex(pipeline);
  const whole = leakIn(`${call.system}\n${call.context ?? ""}\n${call.prompt}`, rubrics);
  if (whole === undefined) return undefined;
  const where = `the prompt of phase "${phaseId}"`;
  const template = call.prompt.replace(UNTRUSTED_BLOCK, "\n");
  const inTemplate = leakIn(template, rubrics);
  if (inTemplate) return `${where} contains the rubric of ${inTemplate}`;
  const inSystem = leakIn(call.system, rubrics);
  if (inSystem) return `the system text of phase "${phaseId}" contains the rubric of ${inSystem}`;
  for (const block of [...untrustedBlocks(call.prompt), ...untrustedBlocks(call.context ?? "")]) {
    const criterion = leakIn(block.text, rubrics);
    if (criterion)
      return `${describe(block.source)}, quoted in ${where}, contains the rubric of ${criterion}${why(block.source)}`;
  }
  // Six words that only make a rubric run once the parts are put together.
  return `${where}, as assembled, contains the rubric of ${whole}`;
}

function describe(source: string): string {
  if (source === "issue.title") return "the issue title";
  if (source === "issue.body") return "the issue body";
  if (source.startsWith("issue.")) return `the issue's ${source.slice("issue.".length)}`;
  const output = /^phases\.(.+)\.output$/.exec(source);
  if (output) return `the output of phase "${output[1]}"`;
  if (source === "review.feedback") return "the feedback on the previous attempt";
  if (source.startsWith("file:")) return `the repository file ${source.slice("file:".length)}`;
  return `the text of ${source}`;
}

/**
 * An agent's own output quoting a rubric: every prompt of this run was checked, so it learned the
 * rubric elsewhere (a tool, its training, an earlier run). The run still stops: what it wrote
 * cannot be left out of the later prompts that quote it.
 */
function why(source: string): string {
  return /^phases\..+\.output$/.test(source)
    ? " (an agent wrote it, though no prompt of this run showed it a rubric)"
    : "";
}
