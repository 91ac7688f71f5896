import { z } from "zod";
import type { IssueInput } from "../../engine/template-context.js";
import { ForgeRefusal } from "../../forge/forge.js";
import { checkWritablePath } from "../../forge/paths.js";
import { SENSITIVE_AREAS } from "../../forge/sensitive-paths.js";
import type { Problem } from "../../pipeline/problem.js";
import { TIERS } from "../../pipeline/schema.js";
import { FixtureFileSchema, type Fixtures } from "../../providers/recorded.js";

/** What one attempt ended as: its gates passed, a gate failed, or it could not be graded or run. */
const OUTCOMES = ["pass", "fail", "error"] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** A gate that never ran (a judge after a failed assert) is `skipped`. */
const GATE_OUTCOMES = ["pass", "fail", "skipped"] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];
/** Where a scenario's run can end: cooldowns pass in simulated time, so never `waiting`. */
const FINAL_STATUSES = ["succeeded", "failed", "awaiting_approval", "needs_human"] as const;

const IssueSchema = z.strictObject({
  number: z.number().int("must be a whole number").positive("must be 1 or more").default(1),
  title: z.string().trim().min(1, "the issue needs a title"),
  body: z.string().default(""),
  labels: z.array(z.string()).default([]),
  author: z.string().default("scenario-author"),
  url: z.string().default(""),
});

export type AttemptExpectation = Outcome | Record<string, GateOutcome>;

function isAttemptExpectation(value: unknown): value is AttemptExpectation {
  if (typeof value === "string") return (OUTCOMES as readonly string[]).includes(value);
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  return Object.values(value).every((v) => (GATE_OUTCOMES as readonly string[]).includes(v as string));
}

const PhaseExpectSchema = z.strictObject({
  attempts: z.number().int().min(0).optional().describe("How many attempts the phase made."),
  tiers: z.array(z.enum(TIERS)).optional().describe("The tier of each attempt, in order."),
  gates: z
    .array(
      z.custom<AttemptExpectation>(isAttemptExpectation, {
        error:
          'expected pass, fail or error, or a mapping of gate to pass | fail | skipped such as { "assert paths": fail, judge: skipped }',
      }),
    )
    .optional()
    .describe("Per attempt: its outcome, or the outcome of named gates."),
  escalated: z.boolean().optional().describe("Whether the phase moved up a tier after spending its retries."),
});

/** One scenario file as written: `extends` is not applied yet. */
export const ScenarioFileSchema = z.strictObject({
  name: z.string().trim().min(1).optional().describe("Shown in the report; defaults to the file name."),
  description: z.string().optional(),
  extends: z
    .string()
    .min(1)
    .optional()
    .describe(
      "A scenario file (relative to this one) whose issue, files, approve and cassettes are the base.",
    ),
  issue: IssueSchema.optional(),
  files: z
    .record(z.string(), z.string())
    .superRefine((files, ctx) => {
      for (const path of Object.keys(files)) {
        try {
          // The starting repository is the author's, not a model's: every sensitive area is allowed here.
          checkWritablePath(path, { allow: SENSITIVE_AREAS });
        } catch (error) {
          if (!(error instanceof ForgeRefusal)) throw error;
          ctx.addIssue({ code: "custom", message: error.message, path: [path] });
        }
      }
    })
    .optional()
    .describe("The repository the run starts from: path -> content."),
  approve: z
    .custom<boolean | string[]>(
      (value) =>
        typeof value === "boolean" ||
        (Array.isArray(value) &&
          value.length > 0 &&
          new Set(value).size === value.length &&
          value.every((v) => typeof v === "string" && v !== "")),
      { error: "expected true, false, or a list of different reviewer names such as [alice, bob]" },
    )
    .optional()
    .describe("Approve each human review the run reaches: true, or who approves."),
  cassettes: FixtureFileSchema.optional().describe("Recorded answers: phase id -> attempts."),
  expect: z.strictObject({
    status: z.enum(FINAL_STATUSES),
    reason: z.string().min(1).optional().describe("Text the run's final reason must contain."),
    phases: z.record(z.string(), PhaseExpectSchema).default({}),
  }),
});
export type ScenarioFile = z.output<typeof ScenarioFileSchema>;
export type PhaseExpectation = z.output<typeof PhaseExpectSchema>;

/** A scenario with its `extends` chain applied. */
export interface Scenario {
  file: string;
  name: string;
  issue: IssueInput;
  files: Record<string, string>;
  approve: boolean | string[];
  cassettes: Fixtures;
  expect: ScenarioFile["expect"];
}

export type ScenarioLoad = { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] };
