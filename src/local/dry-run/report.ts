import type { HeldOut } from "../../engine/holdout-context.js";
import type { IssueInput } from "../../engine/template-context.js";
import type { Gap } from "../../pipeline/gaps.js";
import type { ResolvedPipeline } from "../../pipeline/resolved.js";
import type { Task, Tier } from "../../pipeline/schema.js";
import type { ServerSettings } from "../../providers/settings.js";
import type { Forecast, PhaseModel } from "./forecast-run.js";

// The shapes of a dry run: what it is asked, and the report it hands to the printer.

export interface DryRunOptions {
  pipeline: ResolvedPipeline;
  issue: IssueInput;
  repoDir: string;
  /** The database whose attempts and breakers give the failure rates; default the repository's. */
  dbPath?: string;
  /** The `--provider` flag: whose prices the forecast uses (offline ones are priced as anthropic). */
  provider: string;
  /** Tier -> model the run would pin (a repository's `tiers`): priced, and its history read, on them. */
  models?: Partial<Record<Tier, string>>;
  /** The `--fixtures` file of a recorded run: checked as the run would check it. */
  fixtures?: string;
  settings: ServerSettings;
  /** Where API keys and the OpenAI-compatible address come from: checked, never sent anywhere. */
  env?: NodeJS.ProcessEnv;
  now: number;
}

export interface AgentPlan {
  kind: "agent";
  id: string;
  tier: Tier;
  /** Set when an open breaker moves the start tier up: the tier the phase asked for. */
  routedFrom?: Tier;
  /** The failure rate of its start tier, on the provider and model it would call there. */
  rate?: RateRow;
  /** The model the phase pins for its own tier. */
  pinned?: string;
  /** Its asserts contradict each other: every attempt fails (the gap report says where). */
  hopeless: boolean;
  tokens: { system: number; context: number; prompt: number; output: number };
  /** `heldOut`: the files left out for holdout (counted in `omitted`), with why. */
  context: { files: number; omitted: number; heldOut: HeldOut[]; note?: string };
  /** Per judge gate: its calls per attempt and their input; `on` names a provider or model it pins. */
  judges: { tier: Tier; on?: string; calls: number; inTokens: number }[];
  simulation: PhaseModel;
}

export type PhasePlan =
  | AgentPlan
  | { kind: "wait"; id: string; wait: string }
  | { kind: "approval"; id: string; minApprovals: number };

/** The failure rate of one (provider, model, task, tier): the history of that provider and model only. */
export interface RateRow {
  provider: string;
  model: string;
  task: Task;
  tier: Tier;
  graded: number;
  failed: number;
  /** Graded attempts at this task and tier on other providers or models: seen, not counted. */
  others: number;
  rate: number;
  source: "observed" | "default";
}

export interface DryRunReport {
  pipeline: ResolvedPipeline;
  issue: IssueInput;
  source: string;
  phases: PhasePlan[];
  /** What would stop the real run: a template that does not render, a refused path, a rubric leak. */
  problems: string[];
  /** What would refuse the real run before it is created: a missing key, price or address (see `preflight`). */
  setup: string[];
  gaps: Gap[];
  pricing: {
    provider: string;
    asked: string;
    models: Record<Tier, string>;
    unpriced: string[];
    /** What the prices assume: a local model priced at $0, say. */
    notes: string[];
    /** The limits that refuse a call to a model with no price: `budget.max_cost_usd`, daily limits. */
    costLimits: string[];
  };
  /** `graded`: every graded attempt in the database; `counted`: those on the providers and models the forecast uses. */
  history: { path: string; graded: number; counted: number; note: string };
  rates: RateRow[];
  forecast: Forecast;
}
