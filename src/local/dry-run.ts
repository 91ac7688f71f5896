import { basename, join, resolve } from "node:path";
import { breakerSettings } from "../engine/breaker.js";
import type { RepoInput } from "../engine/template-context.js";
import { currentBranch } from "../forge/local/branch-refs.js";
import { readContext } from "../forge/local/read-context.js";
import { openRepo } from "../forge/local/repo.js";
import { findGaps } from "../pipeline/gaps.js";
import { preflight } from "../providers/preflight.js";
import { breakerSettingsFrom } from "../providers/settings.js";
import { CONTEXT_LIMITS, SEED, SIMULATED_RUNS } from "./dry-run/assumptions.js";
import { openBreakers, rateTable } from "./dry-run/failure-rates.js";
import { forecastRun } from "./dry-run/forecast-run.js";
import { budgetNeeds, planAgent } from "./dry-run/plan-agent.js";
import { pricingFor } from "./dry-run/pricing.js";
import { type History, readHistory } from "./dry-run/read-history.js";
import { type ContextReader, NoContext, renderPhases } from "./dry-run/render-phases.js";
import type { AgentPlan, DryRunOptions, DryRunReport } from "./dry-run/report.js";
import { stateDir } from "./local-app.js";

// `atomic-scrum run <pipeline> --issue <file> --dry-run`: renders every prompt against the real
// issue and repository, reports the gaps in the intent spec and forecasts what a run costs,
// without calling a model, opening a run or writing anything. docs/dry-run.md states the model.
// The parts live in ./dry-run/: render-phases (prompts and tokens), read-history and
// failure-rates (what the database has seen), pricing and plan-agent (calls priced per tier),
// forecast-run (the pure simulation) and print-dry-run (the report as text).

export {
  ARTIFACT_TOKENS,
  DEFAULT_FAILURE,
  FEEDBACK_TOKENS,
  FILES_TOKENS,
  JUDGE_ANSWER_TOKENS,
  PRIOR_ATTEMPTS,
  SEED,
  SIMULATED_RUNS,
} from "./dry-run/assumptions.js";
export {
  type AttemptEstimate,
  type CallEstimate,
  type Forecast,
  forecastRun,
  type PhaseForecast,
  type PhaseModel,
} from "./dry-run/forecast-run.js";
export { printDryRun } from "./dry-run/print-dry-run.js";
export { historyOf } from "./dry-run/read-history.js";
export { type ContextReader, NoContext } from "./dry-run/render-phases.js";
export type { AgentPlan, DryRunOptions, DryRunReport, PhasePlan, RateRow } from "./dry-run/report.js";

/** Builds the report: reads the repository and the history, renders, estimates, simulates. */
export async function dryRun(options: DryRunOptions): Promise<DryRunReport> {
  const repoDir = resolve(options.repoDir);
  const repo = openRepo(repoDir);
  await repo.text(["rev-parse", "--git-dir"]).catch(() => {
    throw new Error(`${repoDir} is not a git repository: run \`git init\` there, or pass --repo DIR`);
  });
  const branch = await currentBranch(repo).catch(() => undefined);
  const dbPath = options.dbPath ? resolve(options.dbPath) : join(stateDir(repoDir), "atomic-scrum.db");
  const read: ContextReader = branch
    ? (globs) => readContext(repo, { branch, globs, ...CONTEXT_LIMITS })
    : () => Promise.reject(new NoContext("HEAD is detached: no repository files were read"));
  return dryRunWith(options, {
    repo: { owner: "local", name: basename(repoDir), defaultBranch: branch ?? "main" },
    source: branch ? `branch ${branch} of ${repoDir}` : repoDir,
    readContext: read,
    history: { ...readHistory(dbPath), path: dbPath },
  });
}

/** Where a dry run reads from: the repository's files and the history of earlier runs. */
export interface DryRunSources {
  repo: RepoInput;
  /** Where the context files come from, as the report says it: `branch main of /home/me/acme`. */
  source: string;
  readContext: ContextReader;
  history: History & { path: string };
}

/**
 * The dry run over sources the caller opened: the CLI's local repository and database file, or
 * (for `/dry-run` on GitHub) the GitHub forge on the default branch and the app's own database.
 */
export async function dryRunWith(
  options: Omit<DryRunOptions, "repoDir" | "dbPath">,
  sources: DryRunSources,
): Promise<DryRunReport> {
  const { history } = sources;
  const pricing = pricingFor(options.provider, options.settings, options.env, options.models);
  const breakers = openBreakers(
    history.breakers,
    breakerSettings(breakerSettingsFrom(options.settings)),
    options.now,
  );
  const rates = rateTable(options.pipeline, history.graded, breakers, pricing.keyAt);
  const rendered = await renderPhases(options, sources.repo, sources.readContext);
  const phases = rendered.phases.map((phase) =>
    phase.kind === "agent" ? planAgent(phase, { pricing, rates, breakers }) : phase,
  );
  const agents = phases.filter((phase): phase is AgentPlan => phase.kind === "agent");
  const forecast = forecastRun(
    agents.map((plan) => plan.simulation),
    options.pipeline.budget ?? {},
    { runs: SIMULATED_RUNS, seed: SEED },
  );
  const gaps = findGaps(options.pipeline, { needs: budgetNeeds(agents) });
  // Checked only where the caller hands over the environment (the CLI): keys are looked at, never read out.
  const choice = { name: options.provider, ...(options.fixtures ? { fixtures: options.fixtures } : {}) };
  const setup = options.env
    ? preflight({ choice, pipeline: options.pipeline, settings: options.settings, env: options.env })
    : [];
  const graded = [...history.graded.values()].reduce((sum, entry) => sum + entry.graded, 0);
  const counted = [...rates.values()].reduce((sum, row) => sum + row.graded, 0);
  return {
    pipeline: options.pipeline,
    issue: options.issue,
    source: sources.source,
    phases,
    problems: rendered.problems,
    setup,
    gaps,
    pricing: {
      provider: pricing.provider,
      asked: options.provider,
      models: pricing.models,
      unpriced: [...pricing.unpriced],
      notes: [...pricing.notes],
      costLimits: [
        options.pipeline.budget?.maxCostUsd === undefined ? undefined : "budget.max_cost_usd",
        options.settings.budget.daily_max_cost_usd === undefined
          ? undefined
          : "the settings' budget.daily_max_cost_usd",
      ].filter((limit): limit is string => limit !== undefined),
    },
    history: { path: history.path, graded, counted, note: history.note },
    rates: [...rates.values()],
    forecast,
  };
}
