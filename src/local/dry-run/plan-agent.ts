import { type BudgetNeed, unpassableAssert } from "../../pipeline/gaps.js";
import { DEFAULT_FAILURE, FEEDBACK_TOKENS, JUDGE_ANSWER_TOKENS } from "./assumptions.js";
import { ladderOf } from "./failure-rates.js";
import type { Pricing } from "./pricing.js";
import { historyKey } from "./read-history.js";
import type { RenderedAgent } from "./render-phases.js";
import type { AgentPlan, RateRow } from "./report.js";

// Estimating: the calls of one attempt, priced per tier.

/**
 * A rendered agent phase, priced: its calls per attempt at each tier of its ladder, with the
 * failure rate of that tier, ready for the simulation and the printed table.
 */
export function planAgent(
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
  const ladder = ladderOf(phase, deps.breakers, pricing.keyAt).map((tier) => {
    // A pinned model is for the phase's own tier; an escalation moves to the next tier's model.
    const at = pricing.keyAt(phase, tier);
    return {
      tier,
      failure: hopeless ? 1 : (deps.rates.get(historyKey(at))?.rate ?? DEFAULT_FAILURE[tier]),
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
  const rate = deps.rates.get(historyKey(pricing.keyAt(phase, start)));
  if (rate) plan.rate = rate;
  if (phase.model !== undefined) plan.pinned = phase.model;
  return plan;
}

/** What the cheapest path has spent when each phase makes its first call, that call's input included. */
export function budgetNeeds(agents: AgentPlan[]): BudgetNeed[] {
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
