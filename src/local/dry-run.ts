import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type BreakerSettings, breakerSettings, halfOpensAt } from "../engine/breaker.js";
import { findRubricLeak } from "../engine/holdout.js";
import {
  type ContextInput,
  type IssueInput,
  plainContext,
  promptContext,
  type RepoInput,
  untrusted,
} from "../engine/template-context.js";
import { tierAbove } from "../engine/tiers.js";
import { agentSystemPrompt, agentUserPrompt } from "../executors/llm.js";
import type { ContextFiles } from "../forge/forge.js";
import { currentBranch } from "../forge/local/branch-refs.js";
import { readContext } from "../forge/local/read-context.js";
import { openRepo, type Repo } from "../forge/local/repo.js";
import { checkWritablePath } from "../forge/paths.js";
import { JUDGE_SYSTEM } from "../judge/judge-gate.js";
import { type BudgetNeed, findGaps, type Gap, unpassableAssert } from "../pipeline/gaps.js";
import type { ResolvedAgentPhase, ResolvedPipeline } from "../pipeline/resolved.js";
import { type JudgeGate, type Task, TIERS, type Tier } from "../pipeline/schema.js";
import { renderTemplate } from "../pipeline/templates.js";
import { estimateTokens } from "../providers/provider.js";
import { createProviderRegistry } from "../providers/registry.js";
import { breakerSettingsFrom, type ServerSettings } from "../providers/settings.js";
import { formatCost, formatTokens } from "../render/format.js";
import { type BreakerRecord, listBreakers } from "../store/breakers.js";
import { MIGRATIONS } from "../store/migrations.js";
import type { Io } from "./commands.js";
import { stateDir } from "./local-app.js";

// `atomic-scrum run <pipeline> --issue <file> --dry-run`: renders every prompt against the real
// issue and repository, reports the gaps in the intent spec and forecasts what a run costs,
// without calling a model, opening a run or writing anything. docs/dry-run.md states the model.

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
export const SIMULATED_RUNS = 5_000;
export const SEED = 1;
/** The context limits of a local run (src/local/local-app.ts). */
const CONTEXT_LIMITS = { maxFiles: 40, maxBytes: 200_000 };

export interface DryRunOptions {
  pipeline: ResolvedPipeline;
  issue: IssueInput;
  repoDir: string;
  /** The database whose attempts and breakers give the failure rates; default the repository's. */
  dbPath?: string;
  /** The `--provider` flag: whose prices the forecast uses (offline ones are priced as anthropic). */
  provider: string;
  settings: ServerSettings;
  now: number;
}

/** One agent call or judge call of an attempt, estimated. */
export interface CallEstimate {
  inTokens: number;
  outTokens: number;
  /** The input alone, priced: what the worker's budget check estimates before the call. */
  inCostUsd: number;
  costUsd: number;
}

/** The calls of one attempt at one tier: the agent call, then every judge call. */
export interface AttemptEstimate {
  calls: CallEstimate[];
}

/** What the simulation needs of an agent phase. */
export interface PhaseModel {
  id: string;
  /** Tiers in the order attempts go through them: the start tier, then escalations. */
  ladder: { tier: Tier; failure: number; first: AttemptEstimate; again: AttemptEstimate }[];
  triesPerTier: number;
  exhausted: "fail" | "human";
}

export interface AgentPlan {
  kind: "agent";
  id: string;
  tier: Tier;
  /** Set when an open breaker moves the start tier up: the tier the phase asked for. */
  routedFrom?: Tier;
  /** The model the phase pins for its own tier. */
  pinned?: string;
  /** Its asserts contradict each other: every attempt fails (the gap report says where). */
  hopeless: boolean;
  tokens: { system: number; context: number; prompt: number; output: number };
  context: { files: number; omitted: number; note?: string };
  /** Per judge gate: its calls per attempt and their input; `on` names a provider or model it pins. */
  judges: { tier: Tier; on?: string; calls: number; inTokens: number }[];
  simulation: PhaseModel;
}

export type PhasePlan =
  | AgentPlan
  | { kind: "wait"; id: string; wait: string }
  | { kind: "approval"; id: string; minApprovals: number };

export interface RateRow {
  task: Task;
  tier: Tier;
  graded: number;
  failed: number;
  rate: number;
  source: "observed" | "default";
}

export interface PhaseForecast {
  id: string;
  cheapest: { tokens: number; costUsd: number };
  meanTries: number;
  escalated: number;
  median: number;
  p90: number;
}

export interface Forecast {
  runs: number;
  phases: PhaseForecast[];
  cheapest: { tokens: number; costUsd: number };
  dearest: { tokens: number; costUsd: number };
  median: { tokens: number; costUsd: number };
  p90: { tokens: number; costUsd: number };
  outcomes: { succeeded: number; failed: number; human: number; budget: number };
}

export interface DryRunReport {
  pipeline: ResolvedPipeline;
  issue: IssueInput;
  source: string;
  phases: PhasePlan[];
  /** What would stop the real run: a template that does not render, a refused path, a rubric leak. */
  problems: string[];
  gaps: Gap[];
  pricing: {
    provider: string;
    asked: string;
    models: Record<Tier, string>;
    unpriced: string[];
    /** The limits that refuse a call to a model with no price: `budget.max_cost_usd`, daily limits. */
    costLimits: string[];
  };
  history: { path: string; graded: number; note: string };
  rates: RateRow[];
  forecast: Forecast;
}

/** Builds the report: reads the repository and the history, renders, estimates, simulates. */
export async function dryRun(options: DryRunOptions): Promise<DryRunReport> {
  const repoDir = resolve(options.repoDir);
  const repo = openRepo(repoDir);
  await repo.text(["rev-parse", "--git-dir"]).catch(() => {
    throw new Error(`${repoDir} is not a git repository: run \`git init\` there, or pass --repo DIR`);
  });
  const branch = await currentBranch(repo).catch(() => undefined);
  const repoInput: RepoInput = { owner: "local", name: basename(repoDir), defaultBranch: branch ?? "main" };
  const dbPath = options.dbPath ? resolve(options.dbPath) : join(stateDir(repoDir), "atomic-scrum.db");
  const history = readHistory(dbPath);
  const pricing = pricingFor(options.provider, options.settings);
  const breakers = openBreakers(
    history.breakers,
    breakerSettings(breakerSettingsFrom(options.settings)),
    options.now,
  );
  const rates = rateTable(options.pipeline, history.graded, breakers);
  const rendered = await renderPhases(options, repoInput, { repo, branch });
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
  const graded = [...history.graded.values()].reduce((sum, entry) => sum + entry.graded, 0);
  return {
    pipeline: options.pipeline,
    issue: options.issue,
    source: branch ? `branch ${branch} of ${repoDir}` : repoDir,
    phases,
    problems: rendered.problems,
    gaps,
    pricing: {
      provider: pricing.provider,
      asked: options.provider,
      models: pricing.models,
      unpriced: [...pricing.unpriced],
      costLimits: [
        options.pipeline.budget?.maxCostUsd === undefined ? undefined : "budget.max_cost_usd",
        options.settings.budget.daily_max_cost_usd === undefined
          ? undefined
          : "the settings' budget.daily_max_cost_usd",
      ].filter((limit): limit is string => limit !== undefined),
    },
    history: { path: dbPath, graded, note: history.note },
    rates: [...rates.values()],
    forecast,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering: every prompt, artifact path and rubric, exactly as the worker builds them.

interface RenderedAgent {
  kind: "agent";
  phase: ResolvedAgentPhase;
  tokens: { system: number; context: number; prompt: number; output: number };
  context: { files: number; omitted: number; note?: string };
  /** Per judge gate: its tier, samples, and the input tokens of each criterion's call. */
  judges: { tier: Tier; samples: number; provider?: string; model?: string; inputs: number[] }[];
}

type Rendered = RenderedAgent | Exclude<PhasePlan, AgentPlan>;

async function renderPhases(
  options: DryRunOptions,
  repoInput: RepoInput,
  source: { repo: Repo; branch: string | undefined },
): Promise<{ phases: Rendered[]; problems: string[] }> {
  const { pipeline, issue } = options;
  const problems: string[] = [];
  const outputs: Record<string, string> = {};
  const contexts = new Map<string, Promise<{ files: ContextFiles; note?: string }>>();
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
    const renderedPrompt = attempt("prompt", () => renderTemplate(phase.prompt, promptContext(input)), "");
    if ("artifact" in phase.output) {
      const artifact = phase.output.artifact;
      attempt(
        "output.artifact",
        () => checkWritablePath(renderTemplate(artifact, plainContext(input)).trim()),
        "",
      );
    }
    const key = JSON.stringify(phase.context);
    const read = contexts.get(key) ?? readPhaseContext(source, phase.context);
    contexts.set(key, read);
    const context = await read;
    const system = agentSystemPrompt(phase, issue.number, `${repoInput.owner}/${repoInput.name}`);
    const user = agentUserPrompt({ rendered: renderedPrompt, context: context.files });
    const leak = findRubricLeak(`${system}\n${user.context ?? ""}\n${user.prompt}`, pipeline);
    if (leak) {
      problems.push(
        `${phase.id}.prompt: holdout violated: the rendered prompt contains the rubric of ${leak}; the run would stop here`,
      );
    }
    const output = outputTokens(phase);
    const own = placeholder(phase.id, output);
    const judgeContext = promptContext({ ...input, outputs: { ...outputs, [phase.id]: own } });
    const judges = phase.gates.flatMap((gate, gateIndex) => {
      if (!("judge" in gate)) return [];
      const inputs = gate.judge.criteria.map((criterion, index) => {
        const rubric = attempt(
          `gates[${gateIndex}].judge.criteria[${index}].rubric`,
          () => renderTemplate(criterion.rubric, judgeContext),
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

/** The files a phase's globs match at the head of the checked-out branch, with the run's limits. */
async function readPhaseContext(
  source: { repo: Repo; branch: string | undefined },
  globs: string[],
): Promise<{ files: ContextFiles; note?: string }> {
  const none: ContextFiles = { files: [], omitted: [] };
  if (globs.length === 0) return { files: none };
  if (!source.branch) return { files: none, note: "HEAD is detached: no repository files were read" };
  try {
    return { files: await readContext(source.repo, { branch: source.branch, globs, ...CONTEXT_LIMITS }) };
  } catch (error) {
    return { files: none, note: `no repository files were read: ${(error as Error).message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// History and prices.

interface History {
  graded: Map<string, { graded: number; failed: number }>;
  breakers: BreakerRecord[];
  note: string;
}

/**
 * Graded attempts per (task, tier) and the breakers, read from the database without writing to
 * it: no file is created when there is none, and an older schema is left for a real command to
 * migrate. The task of an attempt comes from the pipeline its run pinned.
 */
function readHistory(path: string): History {
  const empty = { graded: new Map(), breakers: [] };
  if (!existsSync(path)) return { ...empty, note: `no database at ${path}: every rate is a default` };
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version !== MIGRATIONS.length) {
      return {
        ...empty,
        note: `${path} has schema version ${version}, not ${MIGRATIONS.length}: not read (any other command migrates it)`,
      };
    }
    const rows = db
      .prepare(
        `SELECT json_extract(p.value, '$.task') AS task, a.tier AS tier, COUNT(*) AS graded,
                SUM(a.state = 'failed') AS failed
           FROM phase_attempts a
           JOIN runs r ON r.id = a.run_id
           JOIN json_each(r.pipeline_source, '$.phases') p ON json_extract(p.value, '$.id') = a.phase_id
          WHERE a.state IN ('passed', 'failed') AND a.tier IS NOT NULL
          GROUP BY 1, 2`,
      )
      .all() as { task: string | null; tier: string; graded: number; failed: number }[];
    const graded = new Map<string, { graded: number; failed: number }>();
    for (const row of rows) {
      if (row.task) graded.set(`${row.task}/${row.tier}`, { graded: row.graded, failed: row.failed });
    }
    return { graded, breakers: listBreakers(db), note: `history from ${path}` };
  } finally {
    db.close();
  }
}

/** (task/tier) keys of breakers that are open now and still in their cool-off: they route phases up. */
function openBreakers(breakers: BreakerRecord[], settings: BreakerSettings, now: number): Set<string> {
  const open = new Set<string>();
  for (const breaker of breakers) {
    const until = halfOpensAt(breaker, settings);
    if (until !== undefined && now < until) open.add(`${breaker.task}/${breaker.tier}`);
  }
  return open;
}

/** The tier a phase of `task` lands on when it asks for `tier`: past every open breaker, as the worker routes. */
function route(task: Task, tier: Tier, open: Set<string>): Tier {
  let at = tier;
  for (let above = tierAbove(at); open.has(`${task}/${at}`) && above; above = tierAbove(at)) at = above;
  return at;
}

function ladderOf(phase: ResolvedAgentPhase, open: Set<string>): Tier[] {
  const tiers = [route(phase.task, phase.tier, open)];
  if (!phase.onFail.escalate) return tiers;
  for (let above = tierAbove(tiers.at(-1) as Tier); above; above = tierAbove(tiers.at(-1) as Tier))
    tiers.push(route(phase.task, above, open));
  return tiers;
}

function rateTable(
  pipeline: ResolvedPipeline,
  graded: History["graded"],
  open: Set<string>,
): Map<string, RateRow> {
  const rows = new Map<string, RateRow>();
  for (const phase of pipeline.phases) {
    if (phase.kind !== "agent") continue;
    for (const tier of ladderOf(phase, open)) {
      const key = `${phase.task}/${tier}`;
      if (rows.has(key)) continue;
      const seen = graded.get(key);
      const prior = DEFAULT_FAILURE[tier];
      rows.set(
        key,
        seen && seen.graded > 0
          ? {
              task: phase.task,
              tier,
              graded: seen.graded,
              failed: seen.failed,
              rate: (seen.failed + PRIOR_ATTEMPTS * prior) / (seen.graded + PRIOR_ATTEMPTS),
              source: "observed",
            }
          : { task: phase.task, tier, graded: 0, failed: 0, rate: prior, source: "default" },
      );
    }
  }
  const rank = (row: RateRow) => TIERS.indexOf(row.tier);
  return new Map([...rows].sort(([, a], [, b]) => a.task.localeCompare(b.task) || rank(a) - rank(b)));
}

interface Pricing {
  /** The provider the run is priced on. */
  provider: string;
  models: Record<Tier, string>;
  unpriced: Set<string>;
  /** The provider a run or judge naming `name` is priced on: offline ones as anthropic. */
  pricedAs(name: string): string;
  modelFor(provider: string, tier: Tier): string;
  cost(provider: string, model: string, inTokens: number, outTokens: number): number;
}

/**
 * Prices from the catalog and the settings file; no provider is called and no key is read. An
 * offline provider costs nothing, so its calls are priced as the same calls on anthropic.
 */
function pricingFor(asked: string, settings: ServerSettings): Pricing {
  const pricedAs = (name: string) => (name === "simulated" || name === "recorded" ? "anthropic" : name);
  const registry = createProviderRegistry({ settings, env: {} });
  const modelFor = (provider: string, tier: Tier) => registry.forChoice({ name: provider }).modelFor(tier);
  const provider = pricedAs(asked);
  const models = Object.fromEntries(TIERS.map((tier) => [tier, modelFor(provider, tier)])) as Record<
    Tier,
    string
  >;
  const unpriced = new Set<string>();
  return {
    provider,
    models,
    unpriced,
    pricedAs,
    modelFor,
    cost(at, model, inTokens, outTokens) {
      if (registry.priceOf(at, model) === undefined) {
        unpriced.add(`${at}/${model}`);
        return 0;
      }
      const usage = {
        inputTokens: inTokens,
        outputTokens: outTokens,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      return registry.price({ provider: at, model, usage });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Estimating: the calls of one attempt, priced per tier.

function planAgent(
  rendered: RenderedAgent,
  deps: { pricing: Pricing; rates: Map<string, RateRow>; breakers: Set<string> },
): AgentPlan {
  const { phase, tokens } = rendered;
  const { pricing } = deps;
  const call = (at: { provider: string; model: string }, inTokens: number, outTokens: number) => ({
    inTokens,
    outTokens,
    inCostUsd: pricing.cost(at.provider, at.model, inTokens, 0),
    costUsd: pricing.cost(at.provider, at.model, inTokens, outTokens),
  });
  const judges = rendered.judges.map((judge) => {
    const provider = pricing.pricedAs(judge.provider ?? pricing.provider);
    const model = judge.model ?? pricing.modelFor(provider, judge.tier);
    // Named in the table only when it differs from the tier's model on the run's provider.
    const own = provider === pricing.provider && model === pricing.models[judge.tier];
    return { ...judge, provider, model, own };
  });
  const judgeCalls = judges.flatMap((judge) =>
    judge.inputs.flatMap((inTokens) =>
      Array.from({ length: judge.samples }, () => call(judge, inTokens, JUDGE_ANSWER_TOKENS)),
    ),
  );
  // `on_fail.feedback: none` sends a retry no critique (read defensively: the option is new).
  const feedback = (phase.onFail as { feedback?: unknown }).feedback === "none" ? 0 : FEEDBACK_TOKENS;
  const agentIn = tokens.system + tokens.context + tokens.prompt;
  // Asserts no answer passes fail every attempt, whatever the history says (a gap reports them).
  const hopeless = unpassableAssert(phase) !== undefined;
  const ladder = ladderOf(phase, deps.breakers).map((tier) => {
    // A pinned model is for the phase's own tier; an escalation moves to the next tier's model.
    const model = phase.model !== undefined && tier === phase.tier ? phase.model : pricing.models[tier];
    const at = { provider: pricing.provider, model };
    return {
      tier,
      failure: hopeless ? 1 : (deps.rates.get(`${phase.task}/${tier}`)?.rate ?? DEFAULT_FAILURE[tier]),
      first: { calls: [call(at, agentIn, tokens.output), ...judgeCalls] },
      again: { calls: [call(at, agentIn + feedback, tokens.output), ...judgeCalls] },
    };
  });
  const start = ladder[0]?.tier ?? phase.tier;
  const plan: AgentPlan = {
    kind: "agent",
    id: phase.id,
    tier: start,
    hopeless,
    tokens,
    context: rendered.context,
    judges: judges.map((judge) => ({
      tier: judge.tier,
      ...(judge.own ? {} : { on: `${judge.provider}/${judge.model}` }),
      calls: judge.inputs.length * judge.samples,
      inTokens: judge.inputs.reduce((sum, n) => sum + n, 0) * judge.samples,
    })),
    simulation: {
      id: phase.id,
      ladder,
      triesPerTier: 1 + phase.onFail.retries,
      exhausted: phase.onFail.exhausted,
    },
  };
  if (start !== phase.tier) plan.routedFrom = phase.tier;
  if (phase.model !== undefined) plan.pinned = phase.model;
  return plan;
}

/** What the cheapest path has spent when each phase makes its first call, that call's input included. */
function budgetNeeds(agents: AgentPlan[]): BudgetNeed[] {
  let tokens = 0;
  let costUsd = 0;
  return agents.map((plan) => {
    const first = plan.simulation.ladder[0]?.first.calls ?? [];
    const need = {
      phase: plan.id,
      tokens: tokens + (first[0]?.inTokens ?? 0),
      costUsd: costUsd + (first[0]?.inCostUsd ?? 0),
    };
    for (const call of first) {
      tokens += call.inTokens + call.outTokens;
      costUsd += call.costUsd;
    }
    return need;
  });
}

// ---------------------------------------------------------------------------------------------
// Forecasting: a Monte Carlo over per-attempt failures, seeded so the figures never change.

/**
 * Simulates `runs` runs of the agent phases in order. Each attempt makes its calls (stopping, as
 * the worker does, before a call whose input estimate would pass a budget), then fails with its
 * tier's probability: a failure retries at the tier, then escalates, then ends the run (or hands
 * it to a person). Pure and deterministic for a given seed.
 */
export function forecastRun(
  phases: readonly PhaseModel[],
  budget: { maxTokens?: number; maxCostUsd?: number },
  options: { runs: number; seed: number },
): Forecast {
  const random = mulberry32(options.seed);
  const limits = {
    tokens: budget.maxTokens ?? Number.POSITIVE_INFINITY,
    costUsd: budget.maxCostUsd ?? Number.POSITIVE_INFINITY,
  };
  const tally: Tally = {
    runCost: new Float64Array(options.runs),
    runTokens: new Float64Array(options.runs),
    phaseCost: phases.map(() => new Float64Array(options.runs)),
    tries: phases.map(() => 0),
    escalated: phases.map(() => 0),
    outcomes: { succeeded: 0, failed: 0, human: 0, budget: 0 },
  };
  for (let run = 0; run < options.runs; run++)
    tally.outcomes[simulateRun(phases, limits, random, tally, run)]++;
  const first = (phase: PhaseModel) => (phase.ladder[0] ? [phase.ladder[0].first] : []);
  return {
    runs: options.runs,
    phases: phases.map((phase, index) => ({
      id: phase.id,
      cheapest: pathCost([phase], first),
      meanTries: (tally.tries[index] ?? 0) / options.runs,
      escalated: (tally.escalated[index] ?? 0) / options.runs,
      median: quantile(tally.phaseCost[index] ?? new Float64Array(), 0.5),
      p90: quantile(tally.phaseCost[index] ?? new Float64Array(), 0.9),
    })),
    cheapest: pathCost(phases, first),
    // Every phase passes on its very last attempt: the most a run can spend without failing.
    dearest: pathCost(phases, (phase) =>
      phase.ladder.flatMap((rung, step) =>
        Array.from({ length: phase.triesPerTier }, (_, tryAt) =>
          step === 0 && tryAt === 0 ? rung.first : rung.again,
        ),
      ),
    ),
    median: { tokens: quantile(tally.runTokens, 0.5), costUsd: quantile(tally.runCost, 0.5) },
    p90: { tokens: quantile(tally.runTokens, 0.9), costUsd: quantile(tally.runCost, 0.9) },
    outcomes: tally.outcomes,
  };
}

interface Tally {
  runCost: Float64Array;
  runTokens: Float64Array;
  phaseCost: Float64Array[];
  tries: number[];
  escalated: number[];
  outcomes: Forecast["outcomes"];
}

/** One simulated run, recorded into `tally` at index `run`; returns how it ended. */
function simulateRun(
  phases: readonly PhaseModel[],
  limits: { tokens: number; costUsd: number },
  random: () => number,
  tally: Tally,
  run: number,
): keyof Forecast["outcomes"] {
  const spent = { tokens: 0, costUsd: 0 };
  let outcome: keyof Forecast["outcomes"] = "succeeded";
  for (const [index, phase] of phases.entries()) {
    const ended = simulatePhase(phase, { limits, random, spent }, (call) => {
      const costs = tally.phaseCost[index] as Float64Array;
      costs[run] = (costs[run] ?? 0) + call.costUsd;
    });
    tally.tries[index] = (tally.tries[index] ?? 0) + ended.tries;
    if (ended.escalated) tally.escalated[index] = (tally.escalated[index] ?? 0) + 1;
    if (ended.result === "budget") outcome = "budget";
    if (ended.result === "exhausted") outcome = phase.exhausted === "human" ? "human" : "failed";
    if (outcome !== "succeeded") break;
  }
  tally.runCost[run] = spent.costUsd;
  tally.runTokens[run] = spent.tokens;
  return outcome;
}

/** One phase of a simulated run: its attempts up the ladder until one passes or none is left. */
function simulatePhase(
  phase: PhaseModel,
  run: {
    limits: { tokens: number; costUsd: number };
    random: () => number;
    spent: { tokens: number; costUsd: number };
  },
  paid: (call: CallEstimate) => void,
): { result: "passed" | "exhausted" | "budget"; tries: number; escalated: boolean } {
  const { limits, spent } = run;
  let tries = 0;
  for (const [step, rung] of phase.ladder.entries()) {
    for (let tryAt = 0; tryAt < phase.triesPerTier; tryAt++) {
      const estimate = tries === 0 ? rung.first : rung.again;
      tries++;
      for (const call of estimate.calls) {
        if (spent.tokens + call.inTokens > limits.tokens || spent.costUsd + call.inCostUsd > limits.costUsd)
          return { result: "budget", tries, escalated: step > 0 };
        spent.tokens += call.inTokens + call.outTokens;
        spent.costUsd += call.costUsd;
        paid(call);
      }
      if (run.random() >= rung.failure) return { result: "passed", tries, escalated: step > 0 };
    }
  }
  return { result: "exhausted", tries, escalated: phase.ladder.length > 1 };
}

/** Tokens and cost of the attempts `pick` chooses for each phase, every call made. */
function pathCost(
  phases: readonly PhaseModel[],
  pick: (phase: PhaseModel) => AttemptEstimate[],
): { tokens: number; costUsd: number } {
  const calls = phases.flatMap((phase) => pick(phase).flatMap((attempt) => attempt.calls));
  return {
    tokens: calls.reduce((sum, call) => sum + call.inTokens + call.outTokens, 0),
    costUsd: calls.reduce((sum, call) => sum + call.costUsd, 0),
  };
}

/** The nearest-rank quantile. */
function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/** A small seeded generator (mulberry32): the same seed gives the same forecast on every machine. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------------------------------------
// Printing.

/** Prints the report; 1 when the real run would stop on a problem found while rendering, else 0. */
export function printDryRun(report: DryRunReport, io: Io): number {
  const { pipeline, issue } = report;
  io.out(
    `atomic-scrum · ${pipeline.name} · dry run on issue #${issue.number} "${issue.title}" · no model is called, no run is created`,
  );
  io.out("");
  printPrompts(report, io);
  io.out("");
  printGaps(report.gaps, io);
  io.out("");
  printForecast(report, io);
  io.out("");
  printAssumptions(report, io);
  if (report.problems.length === 0) return 0;
  io.err(`dry run: ${report.problems.length} problem(s) would stop this run; see "Prompts" above`);
  return 1;
}

function printPrompts(report: DryRunReport, io: Io): void {
  io.out(`Prompts, rendered against the issue and the files of ${report.source}:`);
  const rows = [["PHASE", "TIER", "SYSTEM", "CONTEXT", "PROMPT", "OUTPUT (assumed)", "JUDGE CALLS"]];
  const notes = new Map<string, string[]>();
  for (const phase of report.phases) {
    if (phase.kind === "wait") rows.push([phase.id, `wait ${phase.wait}`, "", "", "", "", ""]);
    else if (phase.kind === "approval")
      rows.push([phase.id, `approval (${phase.minApprovals})`, "", "", "", "", ""]);
    else {
      const { files: taken, omitted } = phase.context;
      const files =
        taken + omitted === 0 ? "" : ` (${taken} file(s)${omitted ? `, ${omitted} left out` : ""})`;
      rows.push([
        phase.id,
        tierText(phase),
        formatTokens(phase.tokens.system),
        `${formatTokens(phase.tokens.context)}${files}`,
        formatTokens(phase.tokens.prompt),
        formatTokens(phase.tokens.output),
        phase.judges
          .map((judge) => `${judge.calls} on ${judge.tier}${judge.on ? ` (${judge.on})` : ""}`)
          .join(", ") || "none",
      ]);
      if (phase.context.note)
        notes.set(phase.context.note, [...(notes.get(phase.context.note) ?? []), phase.id]);
    }
  }
  printTable(rows, io);
  for (const [note, ids] of notes) io.out(`  ${ids.join(", ")}: ${note}`);
  if (report.problems.length === 0) {
    io.out("  every prompt, artifact path and rubric renders; no rubric shows through a prompt");
    return;
  }
  for (const problem of report.problems) io.out(`  problem: ${problem}`);
}

function tierText(phase: AgentPlan): string {
  const pinned = phase.pinned ? ` (${phase.pinned})` : "";
  return phase.routedFrom
    ? `${phase.tier} (breaker: ${phase.routedFrom} open)${pinned}`
    : `${phase.tier}${pinned}`;
}

function printGaps(gaps: Gap[], io: Io): void {
  const warnings = gaps.filter((gap) => gap.severity === "warning").length;
  if (gaps.length === 0) {
    io.out("Gaps in the intent spec: none");
    return;
  }
  io.out(`Gaps in the intent spec: ${warnings} warning(s), ${gaps.length - warnings} note(s)`);
  const rows = gaps.map((gap) => [gap.severity, gap.kind, gap.phase, gap.field]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  for (const [index, gap] of gaps.entries()) {
    const row = rows[index] ?? [];
    io.out(`  ${row.map((text, column) => text.padEnd(widths[column] ?? 0)).join("  ")}`);
    io.out(`  ${" ".repeat(widths[0] ?? 0)}  ${gap.message}`);
  }
}

function printForecast(report: DryRunReport, io: Io): void {
  const { pricing, forecast } = report;
  const models = TIERS.map((tier) => `${tier} ${pricing.models[tier]}`).join(", ");
  const why =
    pricing.asked === pricing.provider
      ? ""
      : ` (a ${pricing.asked} run costs nothing: these are the same calls on ${pricing.provider})`;
  io.out(`Forecast, priced on ${pricing.provider}${why}: ${models}`);
  const rows = [
    ["PHASE", "AGENT IN", "JUDGES IN", "FAIL/TRY", "TRIES", "ESCALATES", "1 TRY", "MEDIAN", "P90"],
  ];
  const byId = new Map(forecast.phases.map((phase) => [phase.id, phase]));
  const rates = new Map(report.rates.map((row) => [`${row.task}/${row.tier}`, row]));
  for (const phase of report.phases) {
    const figures = byId.get(phase.id);
    if (phase.kind !== "agent" || !figures) {
      rows.push([phase.id, "", "", "", "", "", "", "—", "—"]);
      continue;
    }
    const task = report.pipeline.phases.find((p) => p.id === phase.id);
    const rate = task?.kind === "agent" ? rates.get(`${task.task}/${phase.tier}`) : undefined;
    rows.push([
      phase.id,
      formatTokens(phase.tokens.system + phase.tokens.context + phase.tokens.prompt),
      formatTokens(phase.judges.reduce((sum, judge) => sum + judge.inTokens, 0)),
      phase.hopeless ? "100% unpassable" : rate ? `${percent(rate.rate)} ${rate.source}` : "",
      figures.meanTries.toFixed(2),
      percent(figures.escalated),
      formatCost(figures.cheapest.costUsd),
      formatCost(figures.median),
      formatCost(figures.p90),
    ]);
  }
  printTable(rows, io);
  const total = (figure: { tokens: number; costUsd: number }) =>
    `${formatCost(figure.costUsd)} (${formatTokens(Math.round(figure.tokens))} tokens)`;
  io.out(
    `  run: median ${total(forecast.median)}, p90 ${total(forecast.p90)}; every attempt passing at once ${total(forecast.cheapest)}; every phase passing on its last attempt ${total(forecast.dearest)}`,
  );
  const { outcomes, runs } = forecast;
  io.out(
    `  of ${formatTokens(runs)} simulated runs: ${percent(outcomes.succeeded / runs)} reach the end, ${percent(outcomes.failed / runs)} fail at a gate, ${percent(outcomes.human / runs)} are handed to a person, ${percent(outcomes.budget / runs)} stop at the budget`,
  );
  const budget = report.pipeline.budget;
  if (budget?.maxCostUsd !== undefined || budget?.maxTokens !== undefined) {
    const limits = [
      budget.maxCostUsd === undefined ? undefined : `$${budget.maxCostUsd}`,
      budget.maxTokens === undefined ? undefined : `${formatTokens(budget.maxTokens)} tokens`,
    ].filter(Boolean);
    io.out(`  budget: ${limits.join(" and ")} per run, checked before each call as the worker checks it`);
  }
  if (pricing.unpriced.length > 0) {
    io.out(
      `  no price for ${pricing.unpriced.join(", ")}: counted as $0 (add them under \`prices:\` in the settings file)`,
    );
    if (pricing.costLimits.length > 0) {
      io.out(
        `  with ${pricing.costLimits.join(" and ")} set, a run stops before its first call to a model it cannot price`,
      );
    }
  }
}

function printAssumptions(report: DryRunReport, io: Io): void {
  io.out(`Failure rate per attempt (${report.history.note}; ${report.history.graded} graded attempt(s)):`);
  const rows = [["TASK", "TIER", "GRADED", "FAILED", "RATE", "SOURCE"]];
  for (const row of report.rates) {
    rows.push([
      row.task,
      row.tier,
      String(row.graded),
      String(row.failed),
      percent(row.rate),
      row.source === "observed"
        ? `observed, blended with ${PRIOR_ATTEMPTS} default attempts`
        : "default (no graded attempt)",
    ]);
  }
  printTable(rows, io);
  const artifacts = (Object.entries(ARTIFACT_TOKENS) as [Task, number][])
    .map(([task, tokens]) => `${task} ${formatTokens(tokens)}`)
    .join(", ");
  const defaults = TIERS.map((tier) => `${tier} ${percent(DEFAULT_FAILURE[tier])}`).join(", ");
  for (const line of [
    "Assumptions:",
    "  - tokens are characters / 4, as budgets count them; every input token is priced as uncached input",
    `  - an earlier phase's output is a placeholder of its assumed size: artifacts by task (${artifacts}), file edits ${formatTokens(FILES_TOKENS)}`,
    `  - a retry or escalation adds ${FEEDBACK_TOKENS} tokens of feedback; a judge answers in ${JUDGE_ANSWER_TOKENS} tokens; judges run on every attempt (failed asserts would skip them)`,
    `  - default failure rates per attempt (guesses, not measurements): ${defaults}; observed rates count passed and failed attempts of runs in the database, whatever their provider, as the breakers do`,
    `  - ${formatTokens(SIMULATED_RUNS)} runs simulated with seed ${SEED}: the same inputs give the same figures; breakers open now route phases up, none opens during the run`,
    "  - per-phase median and p90 are of that phase's own cost; they do not add up to the run's",
  ])
    io.out(line);
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function printTable(rows: string[][], io: Io): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows) {
    io.out(
      `  ${row
        .map((text, column) => text.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd()}`,
    );
  }
}
