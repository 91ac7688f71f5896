import type { Task, Tier } from "../../pipeline/schema.js";

// The figures the dry run assumes where it cannot measure; docs/dry-run.md states each of them and
// the report prints them under "Assumptions".

/** Tokens an artifact is assumed to take, by task: the size of the placeholder later phases read. */
export const ARTIFACT_TOKENS: Record<Task, number> = {
  research: 1_500,
  write: 2_000,
  code: 1_000,
  review: 1_200,
  mechanical: 2_000,
};
/** A file edit: its summary and the complete content of each changed file. */
export const FILES_TOKENS = 4_000;
/** A judge's answer: `{"score": ..., "reason": "one or two sentences"}`. */
export const JUDGE_ANSWER_TOKENS = 80;
/** The critique a retry or escalation carries (the judges' reasons, the failed asserts). */
export const FEEDBACK_TOKENS = 250;
/** Chance that one attempt fails its gates, per tier, where the history has no graded attempt. */
export const DEFAULT_FAILURE: Record<Tier, number> = { fast: 0.35, balanced: 0.25, deep: 0.15 };
/** How many default-rate attempts an observed rate is blended with, so one attempt cannot make it 0 or 1. */
export const PRIOR_ATTEMPTS = 2;
/** Runs the forecast simulates. */
export const SIMULATED_RUNS = 5_000;
/** The forecast's seed: the same inputs give the same figures on every machine. */
export const SEED = 1;
/** The context limits of a local run (src/local/local-app.ts). */
export const CONTEXT_LIMITS = { maxFiles: 40, maxBytes: 200_000 };
