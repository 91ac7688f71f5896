import type { EditPolicy } from "../forge/edit-policy.js";
import type { Gate, OnFail, Output, Task, Tier } from "./schema.js";

/**
 * A pipeline with its defaults applied and its prompt files read in. This is what a run pins
 * at start (stored with the run, hashed): editing the YAML later does not change a run in flight.
 */
export interface ResolvedPipeline {
  name: string;
  description?: string;
  labels: string[];
  voiceStyle?: string;
  /** `dailyMaxCostUsd` comes from the repository's configuration, never from the pipeline file. */
  budget?: { maxCostUsd?: number; maxTokens?: number; dailyMaxCostUsd?: number };
  phases: ResolvedPhase[];
  /**
   * How the app merges the run's pull request once its approval passes on the final commit; from
   * the repository's configuration (`merge_after_approval`), never from the pipeline file. Absent:
   * the app never merges.
   */
  mergeAfterApproval?: "merge" | "squash" | "rebase";
  /**
   * What the run may write (sensitive areas, size and count caps); from the repository's `edits:`,
   * never from the pipeline file. Absent: the defaults.
   */
  edits?: EditPolicy;
}

export type ResolvedPhase = ResolvedAgentPhase | ResolvedWaitPhase | ResolvedApprovalPhase;

export interface ResolvedAgentPhase {
  kind: "agent";
  id: string;
  name: string;
  task: Task;
  tier: Tier;
  /** A model pinned by the pipeline for this phase's own tier (`model:`). */
  model?: string;
  executor: "llm";
  /** The prompt template text (inline, or read from `promptFile`). */
  prompt: string;
  promptFile?: string;
  context: string[];
  output: Output;
  gates: Gate[];
  onFail: OnFail;
}

export interface ResolvedWaitPhase {
  kind: "wait";
  id: string;
  name: string;
  wait: string;
  waitMs: number;
}

export interface ResolvedApprovalPhase {
  kind: "approval";
  id: string;
  name: string;
  minApprovals: number;
}

/** The document a phase writes when its output is not set. */
export const DEFAULT_ARTIFACT = "docs/atomic-scrum/{{ issue.number }}/{{ phase.id }}.md";
