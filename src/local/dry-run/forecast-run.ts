import type { Tier } from "../../pipeline/schema.js";

// The forecast's core: a Monte Carlo over per-attempt failures, seeded so the figures never change.
// Pure: plain data in, plain data out, no I/O.

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
