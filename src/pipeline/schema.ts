import { z } from "zod";
import { parseDuration } from "./duration.js";

/**
 * The pipeline language, v1. This file is the single source of truth: the loader validates
 * with it and `schema/pipeline.schema.json` (for editors) is generated from it.
 */

export const TIERS = ["fast", "balanced", "deep"] as const;
export const TierSchema = z.enum(TIERS).describe("Model tier: fast, balanced or deep.");
export type Tier = z.infer<typeof TierSchema>;

export const TASKS = ["research", "write", "code", "review", "mechanical"] as const;
export const TaskSchema = z
  .enum(TASKS)
  .describe("Task type; sets the default tier and keys the circuit breaker.");
export type Task = z.infer<typeof TaskSchema>;

/** Tier a phase runs on when it names none: cheap for mechanical work, strongest for review. */
export const DEFAULT_TIER: Record<Task, Tier> = {
  research: "balanced",
  write: "balanced",
  code: "balanced",
  review: "deep",
  mechanical: "fast",
};

/**
 * The longest phase id. An id names a check run (`Atomic Scrum / <id>`, which branch protection
 * lists and GitHub's checks tab shows on one line), a file in the run folder (`NN-<id>-N.md`, under
 * the 255-byte file name limit with room to spare), idempotency keys and template paths. Real ids
 * are one to three words; 64 characters fits every place, where 20,000 validated and then fit none.
 */
export const MAX_PHASE_ID_LENGTH = 64;

const phaseId = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, "must be kebab-case: lowercase letters, digits and single dashes")
  .max(
    MAX_PHASE_ID_LENGTH,
    `must be at most ${MAX_PHASE_ID_LENGTH} characters: it names a check run and files`,
  )
  .describe(
    `Unique phase id, kebab-case, at most ${MAX_PHASE_ID_LENGTH} characters. Later prompts read its output as {{ phases.<id>.output }}.`,
  );

/**
 * The longest pipeline name. It heads status comments and names the folder of its scenario tests
 * (`scenarios/<name>/`), so it is one line of plain characters: letters, digits, spaces, `.`, `_`
 * and `-`, starting with a letter or digit (no `/`, so no path outside that folder).
 */
export const MAX_PIPELINE_NAME_LENGTH = 64;

const pipelineName = z
  .string()
  .min(1)
  .max(MAX_PIPELINE_NAME_LENGTH, `must be at most ${MAX_PIPELINE_NAME_LENGTH} characters`)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/,
    "must start with a letter or digit and hold only letters, digits, spaces, . _ and -",
  )
  .describe(
    `Pipeline name: letters, digits, spaces, . _ and -, at most ${MAX_PIPELINE_NAME_LENGTH} characters. Names the scenarios folder.`,
  );

/** GitHub refuses label names longer than 50 characters, so a longer one could never start a run. */
export const MAX_LABEL_LENGTH = 50;

/** An issue label, as GitHub allows it: 1 to 50 characters on one line. */
export const LabelSchema = z
  .string()
  .min(1)
  .max(MAX_LABEL_LENGTH, `must be at most ${MAX_LABEL_LENGTH} characters (GitHub's limit for a label)`)
  .regex(/^[^\p{Cc}]+$/u, "must be one line without control characters");

/** A phase's human-readable name: a commit message's subject and a table cell, so one line. */
export const MAX_PHASE_NAME_LENGTH = 100;

/** The longest wait a pipeline may ask for. Far past it, a wake-up time overflows the queue's clock. */
export const MAX_DURATION_MS = 365 * 86_400_000;

export const DurationSchema = z
  .string()
  .regex(/^(\d+(ms|s|m|h|d))+$/, 'must be a duration such as "30m", "24h" or "1d12h"')
  .refine((text) => /[1-9]/.test(text), "must be longer than zero")
  .refine(
    (text) => parseDuration(text) <= MAX_DURATION_MS,
    "must be at most 365d (one year); a longer cooldown is almost certainly a typo",
  )
  .describe("A duration: digits followed by ms, s, m, h or d; parts may be chained (1h30m). At most 365d.");

export const CriterionSchema = z
  .strictObject({
    name: z.string().min(1).describe("What is judged, shown in the score table."),
    weight: z.number().gt(0, "weight must be greater than 0").describe("Relative weight in the total (> 0)."),
    rubric: z.string().min(1).describe("How the judge scores it. Never shown to the agent."),
    floor: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("Minimum score for this criterion, whatever the total."),
  })
  .describe("One weighted criterion of a judge gate.");

/** Providers a judge can name; `recorded` judges come with the run's own fixtures. */
export const JUDGE_PROVIDERS = ["simulated", "anthropic", "gemini", "openai-compatible"] as const;

export const JudgeGateSchema = z
  .strictObject({
    judge: z.strictObject({
      threshold: z
        .number()
        .min(0, "threshold must be between 0 and 1")
        .max(1, "threshold must be between 0 and 1"),
      criteria: z.array(CriterionSchema).min(1, "a judge needs at least one criterion"),
      tier: TierSchema.optional().describe("Tier of the judge model (default: deep)."),
      provider: z
        .enum(JUDGE_PROVIDERS)
        .optional()
        .describe(
          "Provider of the judge (default: another model family than the author's when the server has one, else the run's).",
        ),
      model: z.string().min(1).optional().describe("Pins the judge's model (default: the tier's model)."),
      samples: z
        .number()
        .int("samples must be a whole number")
        .min(1, "samples must be between 1 and 5")
        .max(5, "samples must be between 1 and 5")
        .default(1)
        .describe("Grades per criterion; the median counts (a steadier score for a few more calls)."),
    }),
  })
  .describe(
    "An LLM judge: each criterion scored 0..1; passes when the weighted score reaches the threshold.",
  );

export const ASSERT_KINDS = [
  "contains",
  "regex",
  "min-words",
  "max-words",
  "is-json",
  "json-schema",
  "no-placeholders",
  "paths",
] as const;
export type AssertKind = (typeof ASSERT_KINDS)[number];
const assertTypes = [...ASSERT_KINDS, ...ASSERT_KINDS.map((kind) => `not-${kind}` as const)] as const;

export const AssertGateSchema = z
  .strictObject({
    assert: z.strictObject({
      type: z.enum(assertTypes).describe("The check; a `not-` prefix inverts it."),
      value: z
        .union([z.string(), z.number(), z.array(z.string()), z.record(z.string(), z.unknown())])
        .optional()
        .describe(
          "Text (contains), pattern (regex), a count (min-words, max-words), globs (paths) or a JSON Schema (json-schema).",
        ),
    }),
  })
  .describe("A deterministic check that costs nothing.");

/** The longest a checks gate may wait for CI: past it, a run holds its phase for no good reason. */
export const MAX_CHECKS_TIMEOUT_MS = 24 * 3_600_000;

export const ChecksGateSchema = z
  .strictObject({
    checks: z.strictObject({
      timeout: DurationSchema.refine(
        (text) => parseDuration(text) <= MAX_CHECKS_TIMEOUT_MS,
        "must be at most 24h: a CI run that takes longer is better split up",
      )
        .default("30m")
        .describe("How long to wait for the CI to finish on the phase's commit (default 30m, at most 24h)."),
      names: z
        .array(z.string().min(1))
        .min(1, "list at least one check-run name, or leave names out to wait for every check")
        .optional()
        .describe(
          "Check-run names that must be present and pass. Without names, every check run of another app on the commit counts, and there must be at least one.",
        ),
    }),
  })
  .describe(
    "The repository's own CI (check runs of other apps, such as GitHub Actions) on the phase's commit, after the commit.",
  );

export const GateSchema = z.union([JudgeGateSchema, AssertGateSchema, ChecksGateSchema]);
export type Gate = z.infer<typeof GateSchema>;
export type JudgeGate = z.infer<typeof JudgeGateSchema>;
export type AssertGate = z.infer<typeof AssertGateSchema>;
export type ChecksGate = z.infer<typeof ChecksGateSchema>;

export const OnFailSchema = z
  .strictObject({
    retries: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe("Retries at the same tier after a failed gate."),
    escalate: z.boolean().default(true).describe("After the retries, try again one tier up."),
    feedback: z
      .enum(["critique", "none"])
      .default("critique")
      .describe(
        "What a retry's prompt gets: the judge's critique of the last attempt, or nothing. Never the rubric.",
      ),
    exhausted: z
      .enum(["fail", "human"])
      .default("fail")
      .describe(
        "When retries and escalation are spent: fail ends the run; human labels the issue needs-human and waits for a person.",
      ),
  })
  .describe("What a failed gate does.");
export type OnFail = z.infer<typeof OnFailSchema>;

export const OutputSchema = z.union([
  z.strictObject({
    artifact: z.string().min(1).describe("Path template of the document this phase writes."),
  }),
  z.strictObject({
    files: z.literal(true).describe("The phase changes repository files (a structured edit)."),
  }),
]);
export type Output = z.infer<typeof OutputSchema>;

const phaseName = z
  .string()
  .min(1)
  .max(MAX_PHASE_NAME_LENGTH, `must be at most ${MAX_PHASE_NAME_LENGTH} characters`)
  .regex(/^[^\p{Cc}]+$/u, "must be one line without control characters: it is a commit message's subject")
  .optional()
  .describe(`Human-readable name, one line of at most ${MAX_PHASE_NAME_LENGTH} characters.`);

export const AgentPhaseSchema = z
  .strictObject({
    id: phaseId,
    name: phaseName,
    task: TaskSchema,
    tier: TierSchema.optional(),
    model: z
      .string()
      .min(1)
      .optional()
      .describe("Pins a model for the phase's own tier (an escalation uses the next tier's model)."),
    executor: z.enum(["llm", "agent", "subagent"]).default("llm").describe("How the phase works: llm."),
    prompt: z
      .string()
      .min(1)
      .describe("Inline template, or a path (ending in .md, .txt or .liquid) relative to the pipeline file."),
    context: z.array(z.string().min(1)).optional().describe("Globs of repository files the agent reads."),
    output: OutputSchema.optional(),
    gates: z.array(GateSchema).default([]),
    on_fail: OnFailSchema.optional(),
  })
  .describe("A phase done by a model.");

export const WaitPhaseSchema = z
  .strictObject({ id: phaseId, name: phaseName, wait: DurationSchema })
  .describe("A cooldown: the run pauses, durably, for this long.");

export const ApprovalPhaseSchema = z
  .strictObject({
    id: phaseId,
    name: phaseName,
    approval: z.strictObject({
      min_approvals: z.number().int().min(1).default(1).describe("Approving reviews needed."),
    }),
  })
  .describe("Human review: the run waits for an approval.");

/** Which phase schema applies is decided by its keys, so errors come from the one that was meant. */
export const PhaseSchema = z.union([WaitPhaseSchema, ApprovalPhaseSchema, AgentPhaseSchema]);
export type AgentPhase = z.infer<typeof AgentPhaseSchema>;
export type WaitPhase = z.infer<typeof WaitPhaseSchema>;
export type ApprovalPhase = z.infer<typeof ApprovalPhaseSchema>;
export type Phase = z.infer<typeof PhaseSchema>;

export const PipelineSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Editor hint; ignored."),
    name: pipelineName,
    description: z.string().optional(),
    labels: z.array(LabelSchema).default([]).describe("Issue labels that start this pipeline."),
    voice_style: z
      .string()
      .optional()
      .describe("House voice, available to templates as {{ pipeline.voice_style }}."),
    budget: z
      .strictObject({
        max_cost_usd: z.number().positive().optional(),
        max_tokens: z.number().int().positive().optional(),
      })
      .optional()
      .describe("The run stops before a call that would go over."),
    defaults: z
      .strictObject({
        on_fail: OnFailSchema.optional(),
        context: z.array(z.string().min(1)).optional(),
      })
      .optional()
      .describe("Defaults for every agent phase."),
    phases: z.array(PhaseSchema).min(1, "a pipeline needs at least one phase"),
  })
  .describe("An Atomic Scrum pipeline.");
export type Pipeline = z.infer<typeof PipelineSchema>;

/** Picks the schema a phase object was written for, from its keys. */
export function phaseSchemaFor(
  value: unknown,
): typeof WaitPhaseSchema | typeof ApprovalPhaseSchema | typeof AgentPhaseSchema {
  if (value && typeof value === "object") {
    if ("wait" in value) return WaitPhaseSchema;
    if ("approval" in value) return ApprovalPhaseSchema;
  }
  return AgentPhaseSchema;
}

export function isAgentPhase(phase: Phase): phase is AgentPhase {
  return "task" in phase;
}
export function isWaitPhase(phase: Phase): phase is WaitPhase {
  return "wait" in phase;
}
