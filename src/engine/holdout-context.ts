import type { ContextFiles } from "../forge/forge.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { leakIn, rubricIndex } from "./holdout.js";

/** A repository file kept out of an agent's context, and why. */
export interface HeldOut {
  path: string;
  reason: string;
}

/** The repository configuration the GitHub App reads: it names pipelines and budgets, never agent input. */
const REPO_CONFIG = /^\.github\/atomic-scrum\.ya?ml$/;
/**
 * A pipeline file, whichever pipeline it is: YAML with `phases:` at the start of a line, the one
 * key every pipeline has at its top level. Cheap (no parse) and it errs on the side of leaving
 * out a YAML file that merely has such a line.
 */
const PIPELINE_FILE = /\.ya?ml$/i;
const PHASES_KEY = /^phases[ \t]*:/m;
/**
 * A pipeline's scenario test (`atomic-scrum test`): recorded answers and the judges' grades of
 * them, the pipeline's own test. Top-level `cassettes:`, or `expect:` with `extends:` or `issue:`.
 */
const CASSETTES_KEY = /^cassettes[ \t]*:/m;
const EXPECT_KEY = /^expect[ \t]*:/m;
const SCENARIO_KEY = /^(?:extends|issue)[ \t]*:/m;

/**
 * Takes out of a phase's context every file an agent must not read (issue 12, item 11): any
 * pipeline, scenario or repository configuration file, the run's own prompt files (known by their text,
 * which the pipeline pinned, so wherever the pipeline came from), and any file showing the
 * rubric of one of the run's criteria, matched as `findRubricLeak` matches (six words, however
 * disguised). Each one is listed in `omitted` with its reason, and returned as `heldOut` so the
 * phase comment and the dry run can say so. A repository that documents its own pipelines is
 * normal: its docs are left out, the run goes on.
 */
export function holdOutContext(
  read: ContextFiles,
  pipeline: ResolvedPipeline,
): { context: ContextFiles; heldOut: HeldOut[] } {
  if (read.files.length === 0) return { context: read, heldOut: [] };
  const rubrics = rubricIndex(pipeline);
  const prompts = new Map<string, string>();
  for (const phase of pipeline.phases) {
    if (phase.kind === "agent" && phase.promptFile !== undefined)
      prompts.set(phase.prompt.trimEnd(), phase.id);
  }
  const files: ContextFiles["files"] = [];
  const heldOut: HeldOut[] = [];
  const told: ContextFiles["omitted"] = [];
  for (const file of read.files) {
    const found = holdoutReason(file, rubrics, prompts);
    if (found === undefined) {
      files.push(file);
      continue;
    }
    heldOut.push({ path: file.path, reason: found.reason });
    told.push({ path: file.path, reason: found.told ?? found.reason });
  }
  if (heldOut.length === 0) return { context: read, heldOut };
  const omitted = [...read.omitted, ...told].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { context: { files, omitted }, heldOut };
}

/**
 * What the agent's list of files not included says of a file quoting a rubric: not which
 * criterion, as an agent never reads criterion names either (docs/gates.md, what a retry is told).
 */
const TOLD_RUBRIC = "holdout: quotes a rubric";

/** Why a file is held out (and, when it differs, what the agent is told), or undefined to keep it. */
function holdoutReason(
  file: { path: string; content: string },
  rubrics: ReturnType<typeof rubricIndex>,
  prompts: Map<string, string>,
): { reason: string; told?: string } | undefined {
  if (REPO_CONFIG.test(file.path)) return { reason: "holdout: repository configuration" };
  if (PIPELINE_FILE.test(file.path) && PHASES_KEY.test(file.content))
    return { reason: "holdout: pipeline file" };
  if (
    PIPELINE_FILE.test(file.path) &&
    (CASSETTES_KEY.test(file.content) || (EXPECT_KEY.test(file.content) && SCENARIO_KEY.test(file.content)))
  )
    return { reason: "holdout: scenario file" };
  const promptOf = prompts.get(file.content.trimEnd());
  if (promptOf !== undefined) return { reason: `holdout: prompt file of phase ${promptOf}` };
  const criterion = leakIn(file.content, rubrics);
  if (criterion === undefined) return undefined;
  return { reason: `holdout: contains the rubric of ${criterion}`, told: TOLD_RUBRIC };
}
