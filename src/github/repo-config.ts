import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { EditsSchema } from "../forge/edit-policy.js";
import { jsonSchemaText } from "../pipeline/json-schema.js";
import { locatePath } from "../pipeline/locate.js";
import { parseYamlConfig } from "../pipeline/parse-config.js";
import { formatPath, type Problem } from "../pipeline/problem.js";
import type { ResolvedPipeline } from "../pipeline/resolved.js";
import { LabelSchema } from "../pipeline/schema.js";
import { PROVIDER_NAMES, TierModelsSchema } from "../providers/settings.js";

/** Where a repository keeps its Atomic Scrum configuration. */
export const CONFIG_PATH = ".github/atomic-scrum.yml";

/** Labels that start a pipeline when the repository does not say otherwise. */
export const DEFAULT_PIPELINES: Readonly<Record<string, string>> = {
  "atomic:coding": "coding",
  "atomic:content": "content",
};

export const REPO_PERMISSIONS = ["admin", "maintain", "write", "triage", "read"] as const;
export type RepoPermission = (typeof REPO_PERMISSIONS)[number];

const Budget = z.strictObject({
  /** Most a single run may spend, in US dollars. */
  max_cost_usd: z
    .number()
    .positive("must be more than 0")
    .optional()
    .describe("Most a single run may spend, in USD."),
  /** Most tokens (in + out) a single run may use. */
  max_tokens: z
    .number()
    .int("must be a whole number")
    .positive("must be more than 0")
    .optional()
    .describe("Most tokens a single run may use."),
  /** Most all runs on this repository may spend per UTC day, in US dollars. */
  daily_max_cost_usd: z
    .number()
    .positive("must be more than 0")
    .optional()
    .describe("Most all runs of the repository may spend per UTC day, in USD."),
});

/** `.github/atomic-scrum.yml`: the one definition of the repository configuration. */
export const RepoConfigSchema = z.strictObject({
  $schema: z.string().optional().describe("Editor hint; ignored."),
  /**
   * Label -> pipeline. A value is a built-in pipeline name (`coding`) or a path in the repository
   * to a `.yml` pipeline (`.github/pipelines/docs.yml`). Replaces the defaults when given.
   */
  pipelines: z
    .record(LabelSchema, z.string().min(1, "name a built-in pipeline or a path to a .yml file"))
    .default({ ...DEFAULT_PIPELINES })
    .describe("Label -> built-in pipeline name or repository path to a .yml pipeline."),
  /** The model provider runs use; `simulated` spends nothing and needs no key. */
  provider: z.enum(PROVIDER_NAMES).default("simulated").describe("The model provider runs use."),
  /** Tier -> model overrides for the chosen provider. */
  tiers: TierModelsSchema.default({}).describe("Tier -> model overrides for the chosen provider."),
  /** Spending limits; a pipeline's own budget applies too, the lower one wins. */
  budget: Budget.default({}).describe("Spending limits for runs on this repository."),
  /** Repository roles whose labels start a pipeline. */
  allowed_permissions: z
    .array(z.enum(REPO_PERMISSIONS))
    .min(1, "list at least one role, such as write")
    .default(["write", "maintain", "admin"])
    .describe("Repository roles allowed to start a pipeline."),
  /** When true, the person who started a run cannot give its human approval. */
  prevent_self_review: z
    .boolean()
    .default(false)
    .describe("When true, whoever started a run cannot approve it."),
  /** Off by default: the app never merges. A merge method makes it merge the approved commit. */
  merge_after_approval: z
    .union([z.literal(false), z.enum(["merge", "squash", "rebase"])])
    .default(false)
    .describe(
      "false (the default): a person merges. merge, squash or rebase: once the approval passes on the final commit, the app merges the pull request at exactly that commit with this method.",
    ),
  /** What runs may write: sensitive areas they may enter, and caps on each commit. Pinned with the run. */
  edits: EditsSchema.prefault({}),
});

export type RepoConfig = z.infer<typeof RepoConfigSchema>;

/** The JSON Schema of `.github/atomic-scrum.yml`, for editors (`schema/repo-config.schema.json`). */
export function repoConfigJsonSchemaText(): string {
  return jsonSchemaText(RepoConfigSchema, {
    file: "repo-config.schema.json",
    title: "Atomic Scrum repository configuration",
  });
}

export type RepoConfigResult = { ok: true; config: RepoConfig } | { ok: false; problems: Problem[] };

/** The configuration of a repository without `.github/atomic-scrum.yml`. */
export function defaultRepoConfig(): RepoConfig {
  return RepoConfigSchema.parse({});
}

/**
 * Parses and validates the text of `.github/atomic-scrum.yml`. Never throws for a bad file:
 * every problem is located (`file:line:col`) and says what is wrong. An empty file means the defaults.
 */
export function parseRepoConfig(text: string, file = CONFIG_PATH): RepoConfigResult {
  const result = parseYamlConfig(text, RepoConfigSchema, file);
  return result.ok ? { ok: true, config: result.value } : result;
}

/** Where a field sits in the config text, as the start of a problem about it. */
export function configEntry(text: string, path: PropertyKey[], file = CONFIG_PATH): Omit<Problem, "message"> {
  const lines = new LineCounter();
  // Without the byte order mark, as parseRepoConfig reads it, so columns agree on line 1.
  const doc = parseDocument(text.replace(/^\uFEFF/, ""), { lineCounter: lines });
  return { file, ...locatePath(doc, lines, path), path: formatPath(path) };
}

/** The pipeline a run pins, with the repository's `merge_after_approval` (absent when off). */
export function withMergeSetting(
  pipeline: ResolvedPipeline,
  merge: RepoConfig["merge_after_approval"],
): ResolvedPipeline {
  return merge === false ? pipeline : { ...pipeline, mergeAfterApproval: merge };
}

/**
 * The pipeline a run pins, with the repository's budget folded in: for each limit both set, the
 * lower one wins. The pipeline's content hash still names the file; the budget is part of what
 * the run stores, so editing the config later does not change a run in flight either.
 */
export function withRepoBudget(pipeline: ResolvedPipeline, budget: RepoConfig["budget"]): ResolvedPipeline {
  const lower = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  const maxTokens = lower(pipeline.budget?.maxTokens, budget.max_tokens);
  const maxCostUsd = lower(pipeline.budget?.maxCostUsd, budget.max_cost_usd);
  const dailyMaxCostUsd = budget.daily_max_cost_usd;
  if (maxTokens === undefined && maxCostUsd === undefined && dailyMaxCostUsd === undefined) return pipeline;
  return {
    ...pipeline,
    budget: {
      ...(maxTokens === undefined ? {} : { maxTokens }),
      ...(maxCostUsd === undefined ? {} : { maxCostUsd }),
      ...(dailyMaxCostUsd === undefined ? {} : { dailyMaxCostUsd }),
    },
  };
}
