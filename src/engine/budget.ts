import type { ResolvedPipeline } from "../pipeline/resolved.js";
import type { Totals } from "./types.js";

/**
 * Why the run's own budget (the pipeline's `budget.max_tokens` and `budget.max_cost_usd`) lets no
 * further attempt start, if it does not. The pipeline is pinned to the run, so once spent it stays
 * spent: a new attempt, or a retry, would end the run at once.
 */
export function overBudget(totals: Totals, budget: ResolvedPipeline["budget"]): string | undefined {
  if (budget?.maxTokens !== undefined && totals.tokens >= budget.maxTokens) {
    return `budget exhausted: ${totals.tokens} tokens used of ${budget.maxTokens}`;
  }
  if (budget?.maxCostUsd !== undefined && totals.costUsd >= budget.maxCostUsd) {
    return `budget exhausted: $${totals.costUsd.toFixed(4)} spent of $${budget.maxCostUsd}`;
  }
  return undefined;
}
